// Webview entry for the loss panel (dist/panel.js); the view lands with the panel issue.
export {};
