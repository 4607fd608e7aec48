// Writes test-results/view-preview.html: dist/panel.js (run `npm run build` first) with a fake host and
// VS Code-like theme variables, to look at the view in a browser. With --shot it also takes screenshots
// with playwright-core and Debian's Chromium (test-results/view-*.png).
//   npx tsx test/unit/view/preview.ts [--shot]
// Open the page with ?case=seg|big|3d|strip|nan|error and &theme=dark|light|hc.
import * as esbuild from 'esbuild';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const repo = resolve(__dirname, '../../..');
const outDir = join(repo, 'test-results');

const THEMES: Record<string, Record<string, string>> = {
  dark: {
    'editor-background': '#1e1e1e', foreground: '#cccccc', descriptionForeground: '#9d9d9d', focusBorder: '#007fd4',
    'button-background': '#0e639c', 'button-foreground': '#ffffff', 'button-hoverBackground': '#1177bb',
    'button-secondaryBackground': '#3a3d41', 'button-secondaryForeground': '#cccccc', 'button-secondaryHoverBackground': '#45494e',
    'input-background': '#3c3c3c', 'input-foreground': '#cccccc', 'input-placeholderForeground': '#a6a6a6',
    'dropdown-background': '#3c3c3c', 'dropdown-foreground': '#f0f0f0', 'dropdown-border': '#3c3c3c',
    'list-hoverBackground': '#2a2d2e', 'list-activeSelectionBackground': '#04395e', 'list-activeSelectionForeground': '#ffffff',
    'panel-border': 'rgba(128, 128, 128, 0.35)', 'editorWidget-background': '#252526', 'editorWidget-border': '#454545',
    'editorHoverWidget-background': '#252526', 'editorHoverWidget-border': '#454545', 'editorHoverWidget-foreground': '#cccccc',
    errorForeground: '#f48771', 'inputValidation-errorBackground': '#5a1d1d', 'inputValidation-errorBorder': '#be1100',
    'badge-background': '#4d4d4d', 'badge-foreground': '#ffffff', 'textLink-foreground': '#3794ff',
    'editorWarning-foreground': '#cca700', 'progressBar-background': '#0e70c0', 'widget-shadow': 'rgba(0, 0, 0, 0.36)',
    'textBlockQuote-background': '#222222', 'toolbar-hoverBackground': 'rgba(90, 93, 94, 0.31)',
  },
  light: {
    'editor-background': '#ffffff', foreground: '#616161', descriptionForeground: '#717171', focusBorder: '#0090f1',
    'button-background': '#007acc', 'button-foreground': '#ffffff', 'button-hoverBackground': '#0062a3',
    'button-secondaryBackground': '#5f6a79', 'button-secondaryForeground': '#ffffff', 'button-secondaryHoverBackground': '#4c5561',
    'input-background': '#ffffff', 'input-foreground': '#616161', 'input-border': '#cecece', 'input-placeholderForeground': '#767676',
    'dropdown-background': '#ffffff', 'dropdown-foreground': '#616161', 'dropdown-border': '#cecece',
    'list-hoverBackground': '#e8e8e8', 'list-activeSelectionBackground': '#0060c0', 'list-activeSelectionForeground': '#ffffff',
    'panel-border': 'rgba(128, 128, 128, 0.35)', 'editorWidget-background': '#f3f3f3', 'editorWidget-border': '#c8c8c8',
    'editorHoverWidget-background': '#f3f3f3', 'editorHoverWidget-border': '#c8c8c8', 'editorHoverWidget-foreground': '#616161',
    errorForeground: '#a1260d', 'inputValidation-errorBackground': '#f2dede', 'inputValidation-errorBorder': '#be1100',
    'badge-background': '#c4c4c4', 'badge-foreground': '#333333', 'textLink-foreground': '#006ab1',
    'editorWarning-foreground': '#bf8803', 'progressBar-background': '#0e70c0', 'widget-shadow': 'rgba(0, 0, 0, 0.16)',
    'textBlockQuote-background': '#f2f2f2', 'toolbar-hoverBackground': 'rgba(184, 184, 184, 0.31)',
  },
  hc: {
    'editor-background': '#000000', foreground: '#ffffff', descriptionForeground: '#ffffff', focusBorder: '#f38518',
    contrastBorder: '#6fc3df', contrastActiveBorder: '#f38518',
    'button-background': '#000000', 'button-foreground': '#ffffff', 'button-border': '#6fc3df',
    'button-secondaryBackground': '#000000', 'button-secondaryForeground': '#ffffff',
    'input-background': '#000000', 'input-foreground': '#ffffff', 'input-border': '#6fc3df',
    'dropdown-background': '#000000', 'dropdown-foreground': '#ffffff', 'dropdown-border': '#6fc3df',
    'list-hoverBackground': 'transparent', 'list-activeSelectionBackground': 'transparent',
    'panel-border': '#6fc3df', 'editorWidget-background': '#0c141f', 'editorWidget-border': '#6fc3df',
    'editorHoverWidget-background': '#0c141f', 'editorHoverWidget-border': '#6fc3df',
    errorForeground: '#f48771', 'inputValidation-errorBackground': '#000000', 'inputValidation-errorBorder': '#6fc3df',
    'badge-background': '#000000', 'badge-foreground': '#ffffff', 'textLink-foreground': '#21a6ff',
    'editorWarning-foreground': '#ffd370', 'progressBar-background': '#6fc3df',
  },
};

function themeCss(): string {
  const common = "--vscode-font-family: system-ui, 'Segoe UI', Ubuntu, sans-serif; --vscode-font-size: 13px; --vscode-editor-font-family: 'DejaVu Sans Mono', monospace; --vscode-editor-font-size: 13px;";
  return Object.entries(THEMES)
    .map(([name, vars]) => `html.theme-${name} { ${common} ${Object.entries(vars).map(([k, v]) => `--vscode-${k}: ${v};`).join(' ')} }`)
    .join('\n') + '\nbody { margin: 0; background: var(--vscode-editor-background); }';
}

export async function writePreview(): Promise<string> {
  const panelPath = join(repo, 'dist/panel.js');
  if (!existsSync(panelPath)) throw new Error('dist/panel.js is missing: run npm run build first');
  const entry = await esbuild.build({
    entryPoints: [join(repo, 'test/unit/view/previewEntry.ts')], bundle: true, format: 'iife', platform: 'browser', target: 'es2022', write: false,
  });
  const fake = entry.outputFiles[0].text;
  const panel = readFileSync(panelPath, 'utf8');
  // media/view.css only @imports the component stylesheets beside it: inline them (one self-contained page).
  const css = readFileSync(join(repo, 'media/view.css'), 'utf8')
    .replace(/@import url\("([^"]+)"\);/g, (_, file: string) => readFileSync(join(repo, 'media', file), 'utf8'));
  // '</script' cannot appear inside the inline scripts.
  const safe = (js: string): string => js.replace(/<\/script/gi, '<\\/script');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Cross-Entropy Lens view preview</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script>document.documentElement.className = 'theme-' + (new URLSearchParams(location.search).get('theme') || 'dark');</script>
<style>${themeCss()}</style>
<style>${css}</style>
</head><body><div id="root"></div>
<script>${safe(fake)}</script>
<script>${safe(panel)}</script>
</body></html>
`;
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, 'view-preview.html');
  writeFileSync(out, html);
  return out;
}

async function shoot(page: string): Promise<void> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    const shots: Array<{ name: string; query: string; width: number; act?: 'hover' | 'explain' | 'multiples' | 'worst' | 'compare' }> = [
      { name: 'dark', query: 'case=seg&theme=dark', width: 1100, act: 'hover' },
      { name: 'light', query: 'case=seg&theme=light', width: 1100, act: 'explain' },
      { name: 'hc', query: 'case=seg&theme=hc', width: 900, act: 'multiples' },
      { name: 'strip', query: 'case=strip&theme=light', width: 800, act: 'hover' },
      { name: '3d', query: 'case=3d&theme=dark', width: 800, act: 'worst' },
      { name: 'error', query: 'case=error&theme=dark', width: 800 },
      { name: 'narrow', query: 'case=seg&theme=light', width: 420 },
      { name: 'compare', query: 'case=compare&theme=dark', width: 1100, act: 'compare' },
    ];
    for (const s of shots) {
      const p = await browser.newPage({ viewport: { width: s.width, height: 900 } });
      const errors: string[] = [];
      p.on('pageerror', (e) => errors.push(String(e)));
      p.on('dialog', (d) => {
        errors.push(`dialog: ${d.message()}`);
        void d.dismiss();
      });
      await p.goto(`file://${page}?${s.query}`);
      await p.waitForSelector(s.name === 'error' ? '[data-testid=error]:not([hidden])' : '[data-testid=loss-value]:not(:empty)');
      await p.waitForTimeout(300);
      if (s.act === 'hover' || s.act === 'explain') {
        const box = await p.locator('.cel-viewport').boundingBox();
        if (box) {
          await p.mouse.move(box.x + box.width * 0.45, box.y + box.height * 0.4);
          await p.waitForTimeout(200);
          if (s.act === 'explain') {
            await p.mouse.click(box.x + box.width * 0.45, box.y + box.height * 0.4);
            await p.waitForTimeout(200);
          }
        }
      } else if (s.act === 'multiples') {
        await p.click('.cel-multiples .cel-button');
        await p.waitForTimeout(200);
        await p.click('.cel-thumb-btn >> nth=3');
        await p.waitForTimeout(200);
      } else if (s.act === 'compare') {
        // The confusion matrix open, a confidence mode with its threshold, a cell filter.
        await p.click('[data-testid="confusion-matrix"] summary');
        await p.selectOption('select[aria-label="View mode"]', 'top1');
        await p.waitForTimeout(200);
        const cm = await p.locator('.cel-cm-canvas').boundingBox();
        if (cm) await p.mouse.click(cm.x + cm.width * 0.5, cm.y + cm.height * 0.55);
        await p.waitForTimeout(200);
      } else if (s.act === 'worst') {
        await p.click('.cel-worst-item >> nth=0');
        await p.waitForTimeout(300);
      }
      const file = join(outDir, `view-${s.name}.png`);
      await p.screenshot({ path: file, fullPage: true });
      const timings = await p.evaluate(() => (window as unknown as { __timings: unknown }).__timings);
      console.log(`${file}${errors.length ? `  ERRORS: ${errors.join(' | ')}` : ''}  ${JSON.stringify(timings)}`);
      await p.close();
    }
  } finally {
    await browser.close();
  }
}

async function main(): Promise<void> {
  const page = await writePreview();
  console.log(page);
  if (process.argv.includes('--shot')) await shoot(page);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
