// The runs view: progress, the pooled curves, per-class multiples and the images by change, fed by the
// host's messages (src/protocol.ts HostToRuns). The curves draw each run as soon as it is done; the other
// sections wait for the report. Environment-free: the webview entry (media/runs.ts) and
// unit tests (happy-dom) both create it on a root element.
import type { HostToRuns, RunsPooledFigures, RunsToHost, RunsViewReport } from '../../src/protocol';
import { builder, clear } from '../view/dom';
import { fmtSeconds } from '../view/format';
import { ClassesSection } from './classes';
import { CurvesSection } from './curves';
import { ImageList } from './imageList';
import { PersistentSection } from './persistent';
import type { RunsPageState } from './state';

export interface RunsViewHandle {
  receive(msg: HostToRuns): void;
  readonly images: ImageList;
  readonly classes: ClassesSection;
  report(): RunsViewReport | null;
}

export function createRunsView(root: HTMLElement, post: (msg: RunsToHost) => void, saved: RunsPageState, onState: (s: RunsPageState) => void): RunsViewHandle {
  const h = builder(root.ownerDocument);
  let state = saved;
  const keep = (patch: Partial<RunsPageState>): void => {
    state = { ...state, ...patch };
    onState(state);
  };
  const folders = h('div', { class: 'rv-folders' });
  const bar = h('progress', { max: 1, value: 0 });
  const progressText = h('span', { class: 'rv-progress-text', 'data-testid': 'runs-progress' });
  const cancel = h('button', { type: 'button', 'data-testid': 'runs-cancel' }, 'Cancel');
  cancel.addEventListener('click', () => {
    cancel.disabled = true;
    post({ type: 'cancel' });
  });
  const stateEl = h('span', { class: 'rv-state', 'data-testid': 'runs-state' });
  const progress = h('div', { class: 'rv-progress' }, bar, progressText, cancel, stateEl);
  const curves = new CurvesSection(h);
  const classes = new ClassesSection(h, state.classSort, (classSort) => keep({ classSort }));
  const images = new ImageList(h, state.tab, { open: (index) => post({ type: 'openImage', index }), tab: (tab) => keep({ tab }) });
  const persistent = new PersistentSection(h, (index) => post({ type: 'openImage', index }));
  const unmatched = h('div', { class: 'rv-unmatched', 'data-testid': 'runs-unmatched', hidden: true });
  const whole = h('div', { class: 'rv-whole', hidden: true }, images.el, persistent.el, classes.el);
  const results = h('div', { class: 'rv-results', hidden: true }, unmatched, curves.el, whole);
  clear(root);
  root.classList.add('rv-root');
  root.append(h('header', {}, h('h1', { class: 'rv-title' }, 'Runs'), folders, progress), results);

  let runs: readonly string[] = [];
  let shown: RunsViewReport | null = null;
  /** Runs done so far, until the report (which needs every run) replaces them. */
  let pooled: Array<RunsPooledFigures | undefined> = [];
  let classNames: readonly string[] = [];

  const receive = (msg: HostToRuns): void => {
    switch (msg.type) {
      case 'start':
        if (msg.runs.join('\n') !== runs.join('\n')) pooled = [];
        runs = msg.runs;
        classNames = msg.classNames;
        clear(folders);
        folders.append(
          h('div', {}, 'labels ', h('code', {}, msg.labelDir)),
          h('div', {}, `${msg.runs.length} runs: `, h('code', {}, msg.runs.join(', ')), ` · ${msg.images} images in every run`),
        );
        return;
      case 'progress':
        bar.max = Math.max(1, runs.length * msg.total);
        bar.value = msg.run * msg.total + msg.done;
        progressText.textContent = `${runs[msg.run] ?? `run ${msg.run + 1}`} (${msg.run + 1} of ${runs.length}): ${msg.done} / ${msg.total} images`;
        return;
      case 'runFigures':
        if (shown !== null) return;
        pooled[msg.run] = msg.figures;
        results.hidden = false;
        curves.show(runs.map((name, k) => pooled[k] ?? { name, pending: true }));
        return;
      case 'report':
        shown = msg.report;
        results.hidden = false;
        whole.hidden = false;
        curves.show(msg.report.runs);
        classes.show(msg.report.perClass, msg.report.runs.map((r) => r.name), classNames);
        images.show(msg.report);
        persistent.show(msg.report);
        unmatched.hidden = msg.report.unmatched.length === 0;
        unmatched.textContent = msg.report.unmatched.length === 0 ? ''
          : `left out (not in every run, or no label): ${msg.report.unmatched.slice(0, 8).join(', ')}${msg.report.unmatched.length > 8 ? `, … (${msg.report.unmatched.length})` : ''}`;
        stateEl.textContent = `done in ${fmtSeconds(msg.seconds)}`;
        return;
      case 'state': {
        const running = msg.state === 'running';
        cancel.hidden = !running;
        cancel.disabled = !running;
        bar.hidden = !running;
        progress.setAttribute('data-state', msg.state);
        stateEl.setAttribute('data-testid', msg.state === 'error' ? 'error' : 'runs-state');
        if (msg.state === 'running') stateEl.textContent = 'evaluating…';
        else if (msg.state === 'cancelled') stateEl.textContent = msg.message ?? 'cancelled';
        else if (msg.state === 'error') stateEl.textContent = `error: ${msg.message ?? 'evaluation failed'}`;
        else if (shown === null) stateEl.textContent = 'done';
        return;
      }
      case 'deltaThumbnails':
        images.addDeltaThumbnails(msg.rows, msg.scale);
        return;
      case 'hostState':
        return;
    }
  };
  return { receive, images, classes, report: () => shown };
}
