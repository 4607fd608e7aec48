// How a sample's maps reach a view, for the loss panel and notebook outputs alike: the loss, prediction and
// target maps at once (they exist when the computation ends, and the heatmap paints from them), then what
// completes them: p(target) and whether confidence maps exist (a worker job over the sample's input values).
// The second message carries only that rest, not the first one's maps again, and the confidence maps stay
// with the host until a confidence mode asks (holdConfidence): a message reaches a webview at a few MB/s
// under code-server, and whatever the host sends after it (a hover's top classes, another sample) waits.
// Pure code: it only sequences the messages.
import type { HostToView, SampleMaps, SampleRest } from './protocol';

export interface SampleSource {
  /**
   * The maps the heatmap paints from, first (absent: only the complete maps exist): at once where the
   * result kept them, else computed for the sample (a result with maps on demand).
   */
  readonly quick?: () => SampleMaps | Promise<SampleMaps>;
  readonly complete: () => Promise<SampleMaps>;
  /** The view holds this sample's quick maps already (sent during the computation): only the rest goes. */
  readonly quickSent?: boolean;
}

/** The maps' confidence maps replaced by confidenceOnRequest (the host keeps them until asked). */
export function holdConfidence(m: SampleMaps): SampleMaps {
  if (!m.confidence) return m;
  return { ...m, confidence: null, confidenceOnRequest: true };
}

/** What complete maps add to the quick maps of the same sample. */
export function restOf(m: SampleMaps): SampleRest {
  return {
    n: m.n,
    pTarget: m.pTarget,
    ...(m.confidence ? { confidence: m.confidence } : {}),
    ...(m.confidenceOnRequest ? { confidenceOnRequest: true } : {}),
  };
}

export class SampleSender {
  /** The latest sample asked for: a slower reply for an earlier one is dropped, not shown over it. */
  private latest = 0;

  /** A thenable `post` returns settles once the message is on its way to the view (a panel's postMessage). */
  constructor(private readonly post: (msg: HostToView) => unknown) {}

  /** Sends sample n; `current` says whether the result it belongs to is still the one shown. */
  async send(n: number, source: SampleSource, current: () => boolean): Promise<void> {
    this.latest = n;
    let viewHasQuick = source.quickSent === true;
    // The complete maps' worker job starts once the quick maps are handed over: on a small machine it would
    // otherwise take the cores that carry the message to the view and paint it.
    const quick = source.quick?.();
    if (quick instanceof Promise) {
      // Computed for the sample (maps on demand): dropped like the complete maps once out of date.
      const maps = await quick;
      if (this.latest !== n || !current()) return;
      await this.post({ type: 'sample', maps: { ...maps, pending: true } });
      viewHasQuick = true;
    } else if (quick) {
      await this.post({ type: 'sample', maps: { ...quick, pending: true } });
      viewHasQuick = true;
    }
    const maps = await source.complete();
    if (this.latest !== n || !current()) return;
    await this.post(viewHasQuick ? { type: 'sampleRest', rest: restOf(maps) } : { type: 'sample', maps });
  }
}
