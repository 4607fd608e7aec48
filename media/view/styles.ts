// The view's stylesheets as text, for the notebook renderer (its bundle loads .css files as text and injects
// them). The panel links media/view.css, which @imports the same files in the same order.
import actions from './actions.css';
import base from './base.css';
import breakdown from './analysis/breakdown.css';
import classTable from './tables/classTable.css';
import compare from './analysis/compare.css';
import confidence from './analysis/confidence.css';
import labelIssues from './analysis/labelIssues.css';
import confusion from './tables/confusion.css';
import debugSection from './debugSection.css';
import heatmap from './heatmap/heatmap.css';
import heatmapControls from './heatmap/heatmapControls.css';
import legend from './heatmap/legend.css';
import multiples from './analysis/multiples.css';
import notices from './notices.css';
import options from './options.css';
import overlay from './heatmap/overlay.css';
import summary from './summary.css';
import tokenView from './tokens/tokenView.css';
import tooltip from './heatmap/tooltip.css';
import worst from './tables/worst.css';

/** In cascade order (base first). */
export const VIEW_STYLES: readonly string[] = [
  base, notices, debugSection, summary, options, heatmap, heatmapControls, confidence, labelIssues, tooltip, legend, actions, overlay, breakdown, classTable, worst, compare, confusion, multiples, tokenView,
];
