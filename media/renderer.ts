// Notebook renderer entry (dist/renderer.js); lands with the notebook renderer issue.
export {};
