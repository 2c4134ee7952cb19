import "./style.css";
import { render } from "preact";
render(<p>viewport</p>, document.getElementById("app")!);
