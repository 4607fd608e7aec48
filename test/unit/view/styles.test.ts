// The panel links media/view.css (which @imports each component's stylesheet); the notebook renderer bundles
// the same files as text through media/view/styles.ts. Both lists must name every stylesheet, in one order.
import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const media = join(__dirname, '../../../media');

/** The view's stylesheets on disk, as paths under media/view without ".css" (components sit in subfolders). */
function stylesheets(dir = join(media, 'view')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return stylesheets(p);
    return e.name.endsWith('.css') ? [relative(join(media, 'view'), p).slice(0, -4)] : [];
  });
}

function panelImports(): string[] {
  const css = readFileSync(join(media, 'view.css'), 'utf8');
  return [...css.matchAll(/@import url\("view\/([A-Za-z/]+)\.css"\);/g)].map((m) => m[1]);
}

function rendererImports(): string[] {
  const ts = readFileSync(join(media, 'view/styles.ts'), 'utf8');
  const files = new Map([...ts.matchAll(/^import (\w+) from '\.\/([\w/]+)\.css';$/gm)].map((m) => [m[1], m[2]]));
  const list = /VIEW_STYLES: readonly string\[\] = \[([^\]]*)\]/.exec(ts)?.[1] ?? '';
  return list.split(',').map((s) => s.trim()).filter(Boolean).map((id) => files.get(id) ?? `?${id}`);
}

describe('view: stylesheets (one per component)', function () {
  it('the panel and the renderer load every component stylesheet, base first, in the same order', function () {
    const onDisk = stylesheets().sort();
    const panel = panelImports();
    assert.equal(panel[0], 'base');
    assert.deepEqual([...panel].sort(), onDisk);
    assert.deepEqual(rendererImports(), panel);
  });

  it('holds no remote resources and nothing but @import in the panel stylesheet', function () {
    const panel = readFileSync(join(media, 'view.css'), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
    assert.deepEqual(panel.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('@import')), []);
    for (const f of stylesheets()) {
      const css = readFileSync(join(media, 'view', `${f}.css`), 'utf8');
      assert.doesNotMatch(css, /@import|url\(\s*["']?(https?:|\/\/)/i, f);
    }
  });
});
