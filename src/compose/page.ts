import { createCanvas } from '@napi-rs/canvas';
import sharp from 'sharp';
import { fitPanelImage } from './layout/index.js';
import { drawBalloons, planLettering } from './lettering/index.js';
import type { LetteringPanelInput, PageLayout, PageLayoutMetadata } from './types.js';

/**
 * One page: panel images fitted into their slots, borders, then balloons on
 * top (balloons may cross borders, as in print). Vector work is drawn on one
 * transparent canvas; sharp composites it with the panels and encodes once.
 */

export interface ComposePageInput {
  layout: PageLayout;
  /** In the page's input order (the slot with `index` i gets panels[i]). */
  panels: { png: Buffer; lettering: Omit<LetteringPanelInput, 'rect'> & { rect?: LetteringPanelInput['rect'] } }[];
  language: string;
}

export interface ComposedPage {
  png: Buffer;
  metadata: PageLayoutMetadata;
}

export async function composePage(input: ComposePageInput): Promise<ComposedPage> {
  const { layout } = input;
  const { geometry } = layout;
  const slots = [...layout.panels].sort((a, b) => a.index - b.index);
  if (slots.length !== input.panels.length) {
    throw new Error(`layout has ${slots.length} slots for ${input.panels.length} panels`);
  }

  const fitted = await Promise.all(slots.map((slot) => fitPanelImage(input.panels[slot.index]!.png, slot.rect)));

  const overlay = createCanvas(geometry.widthPx, geometry.heightPx);
  const ctx = overlay.getContext('2d');
  ctx.strokeStyle = '#000';
  ctx.lineWidth = geometry.borderPx;
  ctx.lineJoin = 'miter';
  for (const slot of slots) {
    // The border sits inside the slot so gutters keep their exact width.
    const half = geometry.borderPx / 2;
    ctx.strokeRect(slot.rect.x + half, slot.rect.y + half, slot.rect.width - geometry.borderPx, slot.rect.height - geometry.borderPx);
  }

  const letteringOptions = { direction: layout.direction, language: input.language, pageWidthPx: geometry.widthPx };
  const plans = planLettering(
    slots.map((slot) => ({ ...input.panels[slot.index]!.lettering, rect: slot.rect })),
    letteringOptions,
  );
  drawBalloons(ctx, plans, letteringOptions);

  const overlayPixels = ctx.getImageData(0, 0, geometry.widthPx, geometry.heightPx);
  const png = await sharp({
    create: { width: geometry.widthPx, height: geometry.heightPx, channels: 3, background: '#ffffff' },
  })
    .composite([
      ...slots.map((slot, i) => ({ input: fitted[i]!, left: slot.rect.x, top: slot.rect.y })),
      {
        input: Buffer.from(overlayPixels.data.buffer, overlayPixels.data.byteOffset, overlayPixels.data.byteLength),
        raw: { width: geometry.widthPx, height: geometry.heightPx, channels: 4 as const },
        left: 0,
        top: 0,
      },
    ])
    .png()
    .toBuffer();

  const metadata: PageLayoutMetadata = {
    page: { widthPx: geometry.widthPx, heightPx: geometry.heightPx, dpi: geometry.dpi, bleedPx: geometry.bleedPx },
    layoutName: layout.name,
    direction: layout.direction,
    readingOrder: layout.readingOrder,
    panels: slots.map((s) => ({ index: s.index, rect: s.rect })),
    balloons: plans.map((b) => ({
      panelIndex: b.panelIndex,
      dialogIndex: b.dialogIndex,
      kind: b.kind,
      rect: b.rect,
      tail: b.tail,
      fontSizePx: b.fontSizePx,
      fitted: b.fitted,
    })),
    overflow: plans.some((b) => !b.fitted),
  };
  return { png, metadata };
}
