// Notebook renderer entry (dist/renderer.js, ESM): the view's styles bundled as text, the rest in rendererCore.
import { createRenderer } from './rendererCore';
import viewCss from './view.css';

export const activate = createRenderer(viewCss);
