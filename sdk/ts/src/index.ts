// viewport-client: launch, prompt, answer and follow the agent sessions of
// a vpd daemon over its WebSocket protocol (docs/protocol.md). The protocol
// types are generated from schema/protocol.json.
export { ViewportClient, pair } from "./client.js";
export type { ConfigChange, ConnectOptions, DaemonAbout, LaunchOptions, SessionEvent, SubscribeOptions } from "./client.js";
export { Connection, RequestError, webSocket } from "./connection.js";
export type { LinkState, Request, SocketLike, WebSocketConstructor } from "./connection.js";
export type * from "./protocol.gen.js";
