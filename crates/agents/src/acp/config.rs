//! A session's switchable settings (modes, models, thought levels) as the
//! agent reports them, and how a `setConfig` request becomes ACP calls:
//! a config option of the right category when the agent offers one, the
//! older `session/set_mode` for modes otherwise.

use agent_client_protocol::v1::schema as acp;
use viewport_protocol::update::{ConfigChoice, ConfigOption};

/// What a viewport asks to switch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigRequest {
    pub mode: Option<String>,
    pub model: Option<String>,
    pub thought_level: Option<String>,
}

impl ConfigRequest {
    pub fn is_empty(&self) -> bool {
        self.mode.is_none() && self.model.is_none() && self.thought_level.is_none()
    }
}

/// One ACP call a request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigAction {
    SetMode(String),
    /// `boolean` options take `true` or `false`, select options a value id.
    SetOption {
        id: String,
        value: String,
        boolean: bool,
    },
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ConfigState {
    modes: Option<acp::SessionModeState>,
    options: Vec<acp::SessionConfigOption>,
}

const MODE: &str = "mode";

impl ConfigState {
    pub fn new(
        modes: Option<acp::SessionModeState>,
        options: Option<Vec<acp::SessionConfigOption>>,
    ) -> Self {
        Self {
            modes,
            options: options.unwrap_or_default(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.modes.is_none() && self.options.is_empty()
    }

    pub fn set_options(&mut self, options: Vec<acp::SessionConfigOption>) {
        self.options = options;
    }

    pub fn set_current_mode(&mut self, mode: &str) {
        if let Some(modes) = &mut self.modes {
            modes.current_mode_id = mode.to_owned().into();
        }
    }

    /// The settings as viewports see them.
    pub fn view(&self) -> Vec<ConfigOption> {
        let mut view: Vec<ConfigOption> = self.options.iter().map(option_view).collect();
        if let Some(modes) = &self.modes
            && self.option_of(MODE).is_none()
        {
            view.insert(
                0,
                ConfigOption {
                    id: MODE.to_owned(),
                    name: "Mode".to_owned(),
                    category: Some(MODE.to_owned()),
                    current: modes.current_mode_id.0.to_string(),
                    choices: modes
                        .available_modes
                        .iter()
                        .map(|m| ConfigChoice {
                            value: m.id.0.to_string(),
                            name: m.name.clone(),
                        })
                        .collect(),
                },
            );
        }
        view
    }

    /// The calls that carry out `request`, or what is wrong with it.
    pub fn plan(&self, request: &ConfigRequest) -> Result<Vec<ConfigAction>, String> {
        let view = self.view();
        let wanted = [
            (MODE, &request.mode),
            ("model", &request.model),
            ("thought_level", &request.thought_level),
        ];
        let mut actions = Vec::new();
        for (category, value) in wanted {
            let Some(value) = value else { continue };
            let Some(option) = view
                .iter()
                .find(|o| o.category.as_deref() == Some(category))
            else {
                return Err(format!(
                    "the agent offers no {} setting",
                    category.replace('_', " ")
                ));
            };
            let choice = option
                .choices
                .iter()
                .find(|c| &c.value == value || c.name.eq_ignore_ascii_case(value));
            let Some(choice) = choice else {
                let known: Vec<&str> = option.choices.iter().map(|c| c.value.as_str()).collect();
                return Err(format!(
                    "`{value}` is not a {} of this agent; it offers: {}",
                    category.replace('_', " "),
                    known.join(", ")
                ));
            };
            let via_modes = category == MODE && self.option_of(MODE).is_none();
            actions.push(if via_modes {
                ConfigAction::SetMode(choice.value.clone())
            } else {
                let boolean = self
                    .option_of_id(&option.id)
                    .is_some_and(|o| matches!(o.kind, acp::SessionConfigKind::Boolean(_)));
                ConfigAction::SetOption {
                    id: option.id.clone(),
                    value: choice.value.clone(),
                    boolean,
                }
            });
        }
        Ok(actions)
    }

    fn option_of_id(&self, id: &str) -> Option<&acp::SessionConfigOption> {
        self.options.iter().find(|o| *o.id.0 == *id)
    }

    fn option_of(&self, category: &str) -> Option<&acp::SessionConfigOption> {
        self.options
            .iter()
            .find(|o| o.category.as_ref().map(category_name).as_deref() == Some(category))
    }
}

fn category_name(category: &acp::SessionConfigOptionCategory) -> String {
    use acp::SessionConfigOptionCategory as C;
    match category {
        C::Mode => MODE.to_owned(),
        C::Model => "model".to_owned(),
        C::ModelConfig => "model_config".to_owned(),
        C::ThoughtLevel => "thought_level".to_owned(),
        C::Other(other) => other.clone(),
        _ => "other".to_owned(),
    }
}

pub(crate) fn option_view(option: &acp::SessionConfigOption) -> ConfigOption {
    let (current, choices) = match &option.kind {
        acp::SessionConfigKind::Select(select) => {
            let flat: Vec<&acp::SessionConfigSelectOption> = match &select.options {
                acp::SessionConfigSelectOptions::Ungrouped(options) => options.iter().collect(),
                acp::SessionConfigSelectOptions::Grouped(groups) => {
                    groups.iter().flat_map(|g| g.options.iter()).collect()
                }
                _ => Vec::new(),
            };
            let choices = flat
                .into_iter()
                .map(|o| ConfigChoice {
                    value: o.value.0.to_string(),
                    name: o.name.clone(),
                })
                .collect();
            (select.current_value.0.to_string(), choices)
        }
        acp::SessionConfigKind::Boolean(boolean) => (
            boolean.current_value.to_string(),
            ["true", "false"]
                .map(|v| ConfigChoice {
                    value: v.to_owned(),
                    name: v.to_owned(),
                })
                .to_vec(),
        ),
        _ => (String::new(), Vec::new()),
    };
    ConfigOption {
        id: option.id.0.to_string(),
        name: option.name.clone(),
        category: option.category.as_ref().map(category_name),
        current,
        choices,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modes() -> acp::SessionModeState {
        acp::SessionModeState::new(
            "default",
            vec![
                acp::SessionMode::new("default", "Default"),
                acp::SessionMode::new("plan", "Plan"),
            ],
        )
    }

    fn model_option() -> acp::SessionConfigOption {
        let choices = vec![
            acp::SessionConfigSelectOption::new("small", "Small"),
            acp::SessionConfigSelectOption::new("large", "Large"),
        ];
        acp::SessionConfigOption::select("model", "Model", "small", choices)
            .category(acp::SessionConfigOptionCategory::Model)
    }

    #[test]
    fn modes_go_through_set_mode_and_models_through_config_options() {
        let state = ConfigState::new(Some(modes()), Some(vec![model_option()]));
        let request = ConfigRequest {
            mode: Some("plan".into()),
            model: Some("Large".into()),
            ..ConfigRequest::default()
        };
        assert_eq!(
            state.plan(&request).unwrap(),
            vec![
                ConfigAction::SetMode("plan".into()),
                ConfigAction::SetOption {
                    id: "model".into(),
                    value: "large".into(),
                    boolean: false,
                }
            ]
        );
        assert_eq!(state.view().len(), 2);
    }

    #[test]
    fn an_unknown_value_or_setting_is_explained() {
        let state = ConfigState::new(Some(modes()), None);
        let err = state
            .plan(&ConfigRequest {
                mode: Some("yolo".into()),
                ..ConfigRequest::default()
            })
            .unwrap_err();
        assert!(err.contains("default, plan"), "{err}");
        let err = state
            .plan(&ConfigRequest {
                model: Some("x".into()),
                ..ConfigRequest::default()
            })
            .unwrap_err();
        assert!(err.contains("no model setting"), "{err}");
    }
}
