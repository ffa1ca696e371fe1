import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { z } from 'zod';
import { digitalGeometry, layoutPage, printB5Geometry } from '../compose/layout/index.js';
import { composePage } from '../compose/page.js';
import { BoxSchema } from '../domain/box.js';
import { describeError, KomaError } from '../domain/errors.js';
import { DialogKindSchema, ReadingDirectionSchema } from '../domain/model.js';
import { formatZodError } from '../domain/zod-errors.js';
import { UsageError } from './usage-error.js';

/**
 * `koma compose page.json --out page.png --layout layout.json`: lays out and
 * letters one page from finished panel images, so layouts can be checked by
 * machine without rendering anything.
 */

const HELP = `usage: koma compose <page.json> --out page.png [--layout layout.json]

page.json: { "direction": "rtl", "language": "en", "layout": "auto", "page": "digital",
             "panels": [{ "image": "panel-1.png", "characters": [{ "id": "aki", "box": [0.5,0.1,0.9,1] }],
                          "dialogs": [{ "speaker": "aki", "text": "Hi!", "kind": "speech" }] }] }`;

const PageFileSchema = z.object({
  direction: ReadingDirectionSchema.default('rtl'),
  language: z.string().default('en'),
  layout: z.string().default('auto'),
  page: z.enum(['digital', 'print-b5']).default('digital'),
  panels: z
    .array(
      z.object({
        image: z.string().min(1),
        /** Wanted width/height; defaults to the image's own. */
        aspect: z.number().positive().optional(),
        emphasis: z.number().min(0.25).max(4).optional(),
        characters: z.array(z.object({ id: z.string().min(1), box: BoxSchema })).default([]),
        dialogs: z
          .array(z.object({ speaker: z.string().min(1), text: z.string().trim().min(1).max(500), kind: DialogKindSchema.default('speech'), box: BoxSchema.optional() }))
          .default([]),
      }),
    )
    .min(1)
    .max(8),
});

export async function runComposeCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { out: { type: 'string', short: 'o' }, layout: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (parsed.positionals.length !== 1 || !parsed.values.out) throw new UsageError('compose takes one page file and --out');
  const file = parsed.positionals[0]!;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new KomaError('invalid-input', `page file ${file}: ${describeError(error)}`);
  }
  const result = PageFileSchema.safeParse(json);
  if (!result.success) throw new KomaError('invalid-input', `page file ${file}: ${formatZodError(result.error)}`);
  const page = result.data;

  const images: Buffer[] = [];
  const aspects: number[] = [];
  for (const [i, panel] of page.panels.entries()) {
    const imagePath = path.resolve(path.dirname(file), panel.image);
    try {
      const bytes = await readFile(imagePath);
      const meta = await sharp(bytes).metadata();
      images.push(bytes);
      aspects.push(panel.aspect ?? meta.width! / meta.height!);
    } catch (error) {
      throw new KomaError('bad-image', `page file ${file}: panel ${i + 1}: cannot read image ${panel.image}: ${describeError(error)}`);
    }
  }
  const geometry = page.page === 'print-b5' ? printB5Geometry() : digitalGeometry();
  const layout = layoutPage({
    panelCount: page.panels.length,
    aspects,
    emphasis: page.panels.map((p) => p.emphasis ?? 1),
    template: page.layout,
    direction: page.direction,
    geometry,
  });
  const composed = await composePage({
    layout,
    language: page.language,
    panels: page.panels.map((p, i) => ({ png: images[i]!, lettering: { characters: p.characters, dialogs: p.dialogs } })),
  });
  await writeFile(parsed.values.out, composed.png);
  if (parsed.values.layout) await writeFile(parsed.values.layout, `${JSON.stringify(composed.metadata, null, 2)}\n`);
  return composed.metadata.overflow ? 3 : 0;
}
