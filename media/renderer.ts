// Notebook renderer entry (dist/renderer.js, ESM): the view's styles bundled as text, the rest in rendererCore.
import { createRenderer } from './rendererCore';
import { VIEW_STYLES } from './view/styles';

export const activate = createRenderer(VIEW_STYLES.join('\n'));
