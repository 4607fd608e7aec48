// The view's stylesheets as text, for the notebook renderer (its bundle loads .css files as text and injects
// them). The panel links media/view.css, which @imports the same files in the same order.
import actions from './actions.css';
import base from './base.css';
import breakdown from './breakdown.css';
import classTable from './classTable.css';
import compare from './compare.css';
import confidence from './confidence.css';
import labelIssues from './labelIssues.css';
import confusion from './confusion.css';
import debugSection from './debugSection.css';
import heatmap from './heatmap.css';
import heatmapControls from './heatmapControls.css';
import legend from './legend.css';
import multiples from './multiples.css';
import notices from './notices.css';
import options from './options.css';
import overlay from './overlay.css';
import summary from './summary.css';
import tokenView from './tokenView.css';
import tooltip from './tooltip.css';
import worst from './worst.css';

/** In cascade order (base first). */
export const VIEW_STYLES: readonly string[] = [
  base, notices, debugSection, summary, options, heatmap, heatmapControls, confidence, labelIssues, tooltip, legend, actions, overlay, breakdown, classTable, worst, compare, confusion, multiples, tokenView,
];
