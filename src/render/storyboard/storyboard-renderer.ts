import { type SKRSContext2D, createCanvas } from '@napi-rs/canvas';
import { boxToPixels } from '../../domain/box.js';
import { describeError, KomaError } from '../../domain/errors.js';
import { mulberry32, type Uniform } from '../../util/prng.js';
import type { PanelRenderer, PanelRenderRequest, RenderedPanel, RenderOptions } from '../panel-renderer.js';
import { registerStoryboardFont } from './fonts.js';
import { toLineArt, toSilhouette } from './line-art.js';

/**
 * The renderer that needs no model: a clean manga storyboard. Paper, a light
 * screentone, a few perspective lines for depth, each character's reference
 * image as ink line art standing in its box, name tags, the prompt as a note,
 * and the dialog boxes left as clear paper for the letterer.
 * Deterministic: everything random comes from the request's seed.
 */

const PAPER = '#fbfaf6';
const INK = '#111111';

export interface StoryboardOptions {
  /** Name tags and the prompt note; off when the panel seeds a diffusion render (SDEdit would copy the text). */
  annotate?: boolean;
}

export class StoryboardRenderer implements PanelRenderer {
  readonly name = 'storyboard';

  constructor(private readonly options: StoryboardOptions = {}) {}

  async render(request: PanelRenderRequest, options: RenderOptions = {}): Promise<RenderedPanel> {
    const { width, height } = request;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 16 || height < 16 || width > 4096 || height > 4096) {
      throw new KomaError('invalid-input', `panel size ${width}×${height} is outside 16..4096 px`);
    }
    const total = request.characters.length + 2;
    const checkAbort = () => {
      if (options.signal?.aborted) throw new KomaError('cancelled', 'rendering was cancelled');
    };
    checkAbort();
    const font = registerStoryboardFont();
    const random = mulberry32(request.seed);
    const canvas = createCanvas(width, height);
    const ctx = canvas.getContext('2d');
    const unit = Math.min(width, height);

    ctx.fillStyle = PAPER;
    ctx.fillRect(0, 0, width, height);
    drawPerspective(ctx, width, height, random);
    drawScreentone(ctx, width, height, random);
    options.onProgress?.({ step: 1, total, label: 'background' });

    // Where each figure was actually drawn: name tags go on its head, not the box's top.
    const figures: PixelArea[] = [];
    for (const [i, character] of request.characters.entries()) {
      checkAbort();
      const area = boxToPixels(character.box, width, height);
      figures.push(area);
      const reference = character.referenceImages[0];
      if (reference) {
        let ink;
        try {
          ink = await toLineArt(reference, area.width, area.height);
        } catch (error) {
          throw new KomaError('bad-image', `reference image of ${character.name} cannot be read: ${describeError(error)}`);
        }
        // Centred horizontally, standing on the bottom of the box.
        const x = area.left + Math.round((area.width - ink.width) / 2);
        const y = area.top + area.height - ink.height;
        const silhouette = await toSilhouette(reference, ink.width, ink.height);
        drawRgba(ctx, silhouette, ink.width, ink.height, x, y);
        drawRgba(ctx, ink.rgba, ink.width, ink.height, x, y);
        figures[i] = { left: x, top: y, width: ink.width, height: ink.height };
      } else {
        drawPlaceholderFigure(ctx, area);
      }
      options.onProgress?.({ step: i + 2, total, label: `drawing ${character.name}` });
    }

    for (const box of request.dialogBoxes) {
      const area = boxToPixels(box, width, height);
      // Balloons are mostly ellipses: clear the ellipse the box holds.
      ctx.fillStyle = PAPER;
      ctx.beginPath();
      ctx.ellipse(area.left + area.width / 2, area.top + area.height / 2, area.width / 2, area.height / 2, 0, 0, Math.PI * 2);
      ctx.fill();
    }
    // Name tags last, so a balloon area never hides who is who.
    if (this.options.annotate !== false) {
      const balloonAreas = request.dialogBoxes.map((b) => boxToPixels(b, width, height));
      request.characters.forEach((character, i) => drawNameTag(ctx, character.name, figures[i]!, unit, font, balloonAreas));
      drawCaptionNote(ctx, request.prompt, width, height, unit, font);
    }
    checkAbort();
    const png = await canvas.encode('png');
    options.onProgress?.({ step: total, total, label: 'done' });
    return { png, width, height, seed: request.seed, renderer: this.name };
  }
}

function drawRgba(ctx: SKRSContext2D, rgba: Buffer, w: number, h: number, x: number, y: number): void {
  const layer = createCanvas(w, h);
  const layerCtx = layer.getContext('2d');
  const image = layerCtx.createImageData(w, h);
  image.data.set(rgba);
  layerCtx.putImageData(image, 0, 0);
  ctx.drawImage(layer, x, y);
}

/** A horizon and lines to a vanishing point: enough depth to read as a place. */
function drawPerspective(ctx: SKRSContext2D, width: number, height: number, random: Uniform): void {
  const horizon = height * (0.45 + random() * 0.2);
  const vanishX = width * (0.3 + random() * 0.4);
  ctx.strokeStyle = 'rgba(17,17,17,0.22)';
  ctx.lineWidth = Math.max(1, Math.min(width, height) / 400);
  ctx.beginPath();
  ctx.moveTo(0, horizon);
  ctx.lineTo(width, horizon);
  const rays = 9;
  for (let i = 0; i <= rays; i++) {
    const x = (width * 1.6 * i) / rays - width * 0.3;
    ctx.moveTo(vanishX, horizon);
    ctx.lineTo(x, height);
  }
  ctx.stroke();
}

/** Printed-manga style halftone: dots on a 45° grid, about 12 % grey. */
function drawScreentone(ctx: SKRSContext2D, width: number, height: number, random: Uniform): void {
  const pitch = Math.max(5, Math.round(Math.min(width, height) / 90));
  const radius = pitch * 0.22;
  const phase = random() * pitch;
  ctx.fillStyle = 'rgba(17,17,17,0.42)';
  ctx.beginPath();
  const diagonal = Math.hypot(width, height);
  const cos = Math.SQRT1_2;
  for (let u = -diagonal; u < diagonal; u += pitch) {
    for (let v = -diagonal; v < diagonal; v += pitch) {
      const x = (u - v) * cos + phase;
      const y = (u + v) * cos;
      if (x < -pitch || x > width + pitch || y < -pitch || y > height + pitch) continue;
      ctx.moveTo(x + radius, y);
      ctx.arc(x, y, radius, 0, Math.PI * 2);
    }
  }
  ctx.fill();
}

interface PixelArea {
  left: number;
  top: number;
  width: number;
  height: number;
}

function overlaps(a: PixelArea, b: PixelArea): boolean {
  return a.left < b.left + b.width && b.left < a.left + a.width && a.top < b.top + b.height && b.top < a.top + a.height;
}

function drawPlaceholderFigure(ctx: SKRSContext2D, area: PixelArea): void {
  // A simple mannequin when a character has no reference image.
  const cx = area.left + area.width / 2;
  const head = Math.min(area.width, area.height) * 0.14;
  ctx.fillStyle = PAPER;
  ctx.strokeStyle = INK;
  ctx.lineWidth = Math.max(2, head / 8);
  ctx.beginPath();
  ctx.arc(cx, area.top + head * 1.2, head, 0, Math.PI * 2);
  ctx.fill();
  ctx.stroke();
  ctx.beginPath();
  ctx.moveTo(cx, area.top + head * 2.2);
  ctx.lineTo(cx, area.top + area.height * 0.65);
  ctx.lineTo(cx - head, area.top + area.height);
  ctx.moveTo(cx, area.top + area.height * 0.65);
  ctx.lineTo(cx + head, area.top + area.height);
  ctx.moveTo(cx - head * 1.3, area.top + area.height * 0.42);
  ctx.lineTo(cx + head * 1.3, area.top + area.height * 0.42);
  ctx.stroke();
}

function drawNameTag(
  ctx: SKRSContext2D,
  name: string,
  area: PixelArea,
  unit: number,
  font: string,
  avoid: PixelArea[],
): void {
  const size = Math.max(10, Math.round(unit * 0.045));
  ctx.font = `${size}px "${font}"`;
  const textWidth = ctx.measureText(name).width;
  const padX = size * 0.4;
  const w = textWidth + padX * 2;
  const h = size * 1.4;
  const x = Math.min(Math.max(0, area.left + (area.width - w) / 2), ctx.canvas.width - w);
  // At the head of the box, unless a balloon will sit there: then at the feet.
  let y = Math.max(0, area.top + 2);
  if (avoid.some((a) => overlaps(a, { left: x, top: y, width: w, height: h }))) {
    y = Math.min(ctx.canvas.height - h, area.top + area.height - h - 2);
  }
  ctx.fillStyle = INK;
  roundedRect(ctx, x, y, w, h, h / 2);
  ctx.fill();
  ctx.fillStyle = PAPER;
  ctx.textBaseline = 'middle';
  ctx.fillText(name, x + padX, y + h / 2);
}

function drawCaptionNote(ctx: SKRSContext2D, prompt: string, width: number, height: number, unit: number, font: string): void {
  if (!prompt) return;
  const size = Math.max(9, Math.round(unit * 0.032));
  ctx.font = `${size}px "${font}"`;
  const maxWidth = width * 0.6;
  let text = prompt;
  if (ctx.measureText(text).width > maxWidth) {
    while (text.length > 1 && ctx.measureText(`${text}…`).width > maxWidth) text = text.slice(0, -1);
    text = `${text.trimEnd()}…`;
  }
  const pad = size * 0.4;
  const w = ctx.measureText(text).width + pad * 2;
  const h = size * 1.5;
  const x = pad;
  const y = height - h - pad;
  ctx.fillStyle = 'rgba(255,255,255,0.85)';
  ctx.strokeStyle = 'rgba(17,17,17,0.5)';
  ctx.lineWidth = 1;
  ctx.fillRect(x, y, w, h);
  ctx.strokeRect(x + 0.5, y + 0.5, w - 1, h - 1);
  ctx.fillStyle = 'rgba(17,17,17,0.8)';
  ctx.textBaseline = 'middle';
  ctx.fillText(text, x + pad, y + h / 2);
}

function roundedRect(ctx: SKRSContext2D, x: number, y: number, w: number, h: number, r: number): void {
  const radius = Math.min(r, w / 2, h / 2);
  ctx.beginPath();
  ctx.roundRect(x, y, w, h, radius);
}
