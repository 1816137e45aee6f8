/** The plugin id, and the two RBAC actions the server registers for the admin page. */
export const PLUGIN_ID = "io";

export const PERMISSIONS = {
  /** See the page: totals, rooms, content types and the connection list. */
  read: [{ action: "plugin::io.read", subject: null }],
  /** Disconnect a connection (the server answers 403 without it; the page hides the button). */
  disconnect: [{ action: "plugin::io.disconnect", subject: null }],
};
