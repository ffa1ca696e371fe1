import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Config } from '../config/config.js';
import { EXPORT_FORMATS, type ExportFormat, exportChapter } from '../compose/export/index.js';
import { KomaError } from '../domain/errors.js';
import { renderStory } from '../render/render-story.js';
import { selectRenderer } from '../render/select-renderer.js';
import { loadStoryFile } from './load-story-file.js';
import { TerminalProgress } from './terminal-progress.js';
import { UsageError } from './usage-error.js';

const HELP = `usage: koma render <story.json | folder> [options]

  --out DIR         where to write pages (default: out/<story-id>)
  --renderer NAME   auto | storyboard | diffusion (default: from config, auto)
  --model ID        which installed model the diffusion renderer uses (default: render.model, else the first installed)
  --steps N         denoising steps (default: the model's)
  --formats LIST    extra exports, comma-separated: pdf, cbz, webtoon, webp (pages are always PNG)
  --quiet           no progress output

writes page-001.png, page-001.layout.json, … and story.json (what was produced).`;

/** `koma render`: story file in, finished pages out. Returns the exit code. */
export async function runRenderCommand(argv: string[], config: Config): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        out: { type: 'string', short: 'o' },
        renderer: { type: 'string' },
        model: { type: 'string' },
        steps: { type: 'string' },
        formats: { type: 'string', default: '' },
        quiet: { type: 'boolean', short: 'q', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('render takes exactly one story file or folder');
  const rendererChoice = values.renderer ?? config.render.renderer;
  if (!['auto', 'storyboard', 'diffusion'].includes(rendererChoice)) {
    throw new UsageError(`--renderer must be auto, storyboard or diffusion, not "${rendererChoice}"`);
  }

  const steps = values.steps === undefined ? config.render.steps : Number(values.steps);
  if (steps !== undefined && !(Number.isInteger(steps) && steps >= 1 && steps <= 150)) {
    throw new UsageError(`--steps must be a whole number from 1 to 150, not "${values.steps}"`);
  }

  const formats = (values.formats ?? '').split(',').map((f) => f.trim()).filter((f) => f !== '');
  for (const f of formats) {
    if (!(EXPORT_FORMATS as readonly string[]).includes(f) || f === 'png') {
      throw new UsageError(`--formats takes pdf, cbz, webtoon or webp, not "${f}"`);
    }
  }

  const loaded = await loadStoryFile(positionals[0]!, {
    maxBytes: config.limits.maxImageBytes,
    maxPixels: config.limits.maxImagePixels,
  });
  const outDir = path.resolve(values.out ?? path.join('out', loaded.story.id));
  try {
    await mkdir(outDir, { recursive: true });
  } catch (error) {
    throw new KomaError('invalid-input', `cannot create output folder ${outDir}: ${(error as Error).message}`);
  }

  const render: Config['render'] = {
    ...config.render,
    renderer: rendererChoice as Config['render']['renderer'],
    ...(values.model ? { model: values.model } : {}),
    ...(steps !== undefined ? { steps } : {}),
  };
  const renderer = await selectRenderer({ ...config, render }, { warn: (line) => process.stderr.write(`koma: warning: ${line}\n`) });
  const progress = new TerminalProgress();
  const log = (line: string) => {
    if (!values.quiet) progress.done(line);
  };
  log(`koma: rendering "${loaded.story.title}" with the ${renderer.name} renderer: ${loaded.panels.length} panels on ${loaded.pages.length} page(s)`);

  const written: { page: number; png: string; layout: string; overflow: boolean }[] = [];
  try {
    const result = await renderStory(loaded, renderer, {
      onProgress: values.quiet ? undefined : (p) => progress.update(p),
      onPage: async (page) => {
        const stem = `page-${String(page.number).padStart(3, '0')}`;
        await writeFile(path.join(outDir, `${stem}.png`), page.png);
        await writeFile(path.join(outDir, `${stem}.layout.json`), `${JSON.stringify(page.metadata, null, 2)}\n`);
        written.push({ page: page.number, png: `${stem}.png`, layout: `${stem}.layout.json`, overflow: page.metadata.overflow });
        log(`  wrote ${path.join(outDir, `${stem}.png`)}${page.metadata.overflow ? ' (some text did not fit)' : ''}`);
      },
    });
    const summary = {
      title: loaded.story.title,
      source: path.resolve(loaded.file),
      renderer: renderer.name,
      readingDirection: loaded.story.readingDirection,
      pages: written,
      panels: result.panels.map((p) => ({
        number: p.index + 1,
        page: p.page,
        seed: p.seed,
        width: p.width,
        height: p.height,
        renderer: p.renderer,
      })),
    };
    const exported = await exportChapter(
      result.pages.map((p) => ({ png: p.png, layout: p.metadata, dpi: p.metadata.page.dpi })),
      { title: loaded.story.title, slug: loaded.story.id, direction: loaded.story.readingDirection, language: loaded.story.language },
      formats as ExportFormat[],
    );
    for (const file of exported) {
      await writeFile(path.join(outDir, file.name), file.bytes);
      log(`  wrote ${path.join(outDir, file.name)}`);
    }
    await writeFile(path.join(outDir, 'story.json'), `${JSON.stringify({ ...summary, exports: exported.map((f) => f.name) }, null, 2)}\n`);
  } finally {
    await renderer.close?.();
  }
  log(`koma: done, ${written.length} page(s) in ${outDir}`);
  return 0;
}
