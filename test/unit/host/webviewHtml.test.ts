// The webviews' page: a strict Content-Security-Policy whose fresh nonce is the only way a script or style
// runs, the extension's bundle and stylesheet inlined under it without a way to end their element early,
// and attribute values escaped. (That the real panel runs under it is the e2e suites' business.)
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Window } from 'happy-dom';
import { inlineSafe, readAsset, webviewHtml } from '../../../src/host/panels/webviewHtml';

const webview = { cspSource: 'https://file+.vscode-resource.vscode-cdn.net' };

function page(script: string, css = 'body { color: red }', rootData?: Record<string, string>): { html: string; doc: Document } {
  const html = webviewHtml(webview, { script, css, title: 'T <x>', rootData });
  const win = new Window();
  win.document.write(html);
  return { html, doc: win.document as unknown as Document };
}

describe('webview page', function () {
  it('allows scripts and styles only with a fresh 144-bit nonce, nothing remote and nothing unsafe', function () {
    const a = page('window.x = 1;');
    const b = page('window.x = 1;');
    const csp = (d: Document): string => d.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? '';
    const nonce = (d: Document): string => /script-src 'nonce-([0-9a-f]+)'/.exec(csp(d))?.[1] ?? '';
    assert.match(nonce(a.doc), /^[0-9a-f]{36}$/);
    assert.notEqual(nonce(a.doc), nonce(b.doc), 'a new nonce per page');
    assert.match(csp(a.doc), /^default-src 'none'; /);
    assert.doesNotMatch(csp(a.doc), /unsafe|\*|https?:\/\/(?!file\+)/);
    assert.match(csp(a.doc), new RegExp(`style-src 'nonce-${nonce(a.doc)}';`));
    const scripts = [...a.doc.querySelectorAll('script')];
    assert.equal(scripts.length, 1);
    assert.equal(scripts[0].getAttribute('nonce'), nonce(a.doc));
    assert.equal(scripts[0].getAttribute('src'), null, 'inline: nothing to fetch');
    assert.equal(a.doc.querySelector('style')?.getAttribute('nonce'), nonce(a.doc));
    assert.equal(a.doc.querySelectorAll('link').length, 0);
  });

  it('keeps "</script" and "</style" in the inlined text from closing their element', function () {
    const script = 'const s = "</script><img src=x onerror=alert(1)>"; const r = /<\\/SCRIPT>/; // </Script';
    const css = '.a::after { content: "</style><script>alert(1)</script>" }';
    const { doc } = page(script, css);
    assert.equal(doc.querySelectorAll('script').length, 1);
    assert.equal(doc.querySelectorAll('img').length, 0);
    assert.equal(doc.querySelectorAll('style').length, 1);
    assert.equal(inlineSafe(script, 'script'), 'const s = "<\\/script><img src=x onerror=alert(1)>"; const r = /<\\/SCRIPT>/; // <\\/Script');
    // The escaped script means the same: the string's value is unchanged.
    assert.equal(new Function(`${inlineSafe('return "</script>";', 'script')}`)(), '</script>');
  });

  it('the built bundles hold nothing that changes how their inline <script> element is parsed', function () {
    const dist = path.resolve(__dirname, '../../../dist');
    for (const name of ['panel.js', 'dataset.js', 'runs.js']) {
      const file = path.join(dist, name);
      assert.ok(fs.existsSync(file), `${file} is missing: run npm run build first`);
      const text = fs.readFileSync(file, 'utf8');
      assert.equal(/<!--/.test(text), false, `${name} contains "<!--"`);
      const { doc } = page(text);
      assert.equal(doc.querySelectorAll('script').length, 1, name);
      assert.equal(doc.querySelector('script')?.textContent, inlineSafe(text, 'script'), `${name} is the script's whole text`);
    }
  });

  it('escapes the root element\'s attribute values and the title', function () {
    const { doc } = page('', '', { 'data-colormap': '"><script>alert(1)</script>' });
    assert.equal(doc.getElementById('root')?.getAttribute('data-colormap'), '"><script>alert(1)</script>');
    assert.equal(doc.querySelectorAll('script').length, 1);
    assert.equal(doc.title, 'T <x>');
  });

  it('reads a bundle once per change on disk, without its source map comment', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-asset-'));
    try {
      const f = path.join(dir, 'panel.js');
      fs.writeFileSync(f, '(() => 1)();\n//# sourceMappingURL=panel.js.map\n');
      assert.equal(await readAsset(f), '(() => 1)();\n');
      fs.writeFileSync(f, '(() => 2)();\n');
      fs.utimesSync(f, new Date(), new Date(Date.now() + 5000));
      assert.equal(await readAsset(f), '(() => 2)();\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
