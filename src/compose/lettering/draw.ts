import { Path2D, PathOp, type SKRSContext2D } from '@napi-rs/canvas';
import type { BalloonPlan, LetteringOptions, Point, Rect } from '../types.js';
import { fontFor, registerLetteringFonts } from './fonts.js';
import { isJapaneseText } from './line-breaking.js';
import { verticalGlyphs } from './vertical.js';

/**
 * Draws planned balloons: body and tail joined into one outline (path union),
 * filled white and stroked once, then the text. Each kind has its own outline:
 * ellipse (speech), cloud (thought), burst (shout), dashed (whisper), box (narration).
 */

function ellipsePath(rect: Rect): Path2D {
  const p = new Path2D();
  p.ellipse(rect.x + rect.width / 2, rect.y + rect.height / 2, rect.width / 2, rect.height / 2, 0, 0, Math.PI * 2);
  return p;
}

function pointOnEllipse(rect: Rect, angle: number): Point {
  return { x: rect.x + rect.width / 2 + (rect.width / 2) * Math.cos(angle), y: rect.y + rect.height / 2 + (rect.height / 2) * Math.sin(angle) };
}

function cloudPath(rect: Rect): Path2D {
  const rx = rect.width / 2;
  const ry = rect.height / 2;
  const bump = Math.min(rx, ry) * 0.32;
  const perimeter = Math.PI * (3 * (rx + ry) - Math.sqrt((3 * rx + ry) * (rx + 3 * ry)));
  const count = Math.max(8, Math.round(perimeter / (bump * 1.5)));
  let path = new Path2D();
  path.ellipse(rect.x + rx, rect.y + ry, rx * 0.92, ry * 0.92, 0, 0, Math.PI * 2);
  for (let i = 0; i < count; i++) {
    const p = pointOnEllipse({ x: rect.x + bump * 0.35, y: rect.y + bump * 0.35, width: rect.width - bump * 0.7, height: rect.height - bump * 0.7 }, (i / count) * Math.PI * 2);
    const circle = new Path2D();
    circle.arc(p.x, p.y, bump * (0.85 + 0.15 * ((i * 7) % 3) / 2), 0, Math.PI * 2);
    path = path.op(circle, PathOp.Union);
  }
  return path;
}

function hash(text: string): number {
  let h = 2166136261;
  for (const ch of text) h = Math.imul(h ^ ch.codePointAt(0)!, 16777619) >>> 0;
  return h;
}

function burstPath(rect: Rect, seed: number): Path2D {
  const cx = rect.x + rect.width / 2;
  const cy = rect.y + rect.height / 2;
  const spikes = 18;
  const p = new Path2D();
  let state = seed;
  for (let i = 0; i < spikes * 2; i++) {
    state = Math.imul(state ^ (state >>> 15), 2246822507) >>> 0;
    const jitter = (state % 1000) / 1000;
    const angle = (i / (spikes * 2)) * Math.PI * 2;
    // Valleys sit on the body ellipse so the heavy stroke never reaches the text; spikes burst outward.
    const scale = i % 2 === 0 ? 1.22 + jitter * 0.14 : 1;
    const x = cx + (rect.width / 2) * scale * Math.cos(angle);
    const y = cy + (rect.height / 2) * scale * Math.sin(angle);
    if (i === 0) p.moveTo(x, y);
    else p.lineTo(x, y);
  }
  p.closePath();
  return p;
}

/** A curved wedge from the outline to the tip, its base about a fifth of the minor axis. */
function tailPath(rect: Rect, tail: { from: Point; to: Point }): Path2D {
  const cx = rect.x + rect.width / 2;
  const cy = rect.y + rect.height / 2;
  const angle = Math.atan2((tail.from.y - cy) / (rect.height / 2), (tail.from.x - cx) / (rect.width / 2));
  const base = Math.min(rect.width, rect.height) * 0.2;
  const spread = base / Math.max(rect.width, rect.height);
  // Start the wedge a little inside the body so the union has no seam.
  const inner = { x: rect.x + rect.width * 0.1, y: rect.y + rect.height * 0.1, width: rect.width * 0.8, height: rect.height * 0.8 };
  const a = pointOnEllipse(inner, angle - spread * 1.6);
  const b = pointOnEllipse(inner, angle + spread * 1.6);
  const bend = { x: (tail.from.x + tail.to.x) / 2 + (tail.to.y - tail.from.y) * 0.12, y: (tail.from.y + tail.to.y) / 2 - (tail.to.x - tail.from.x) * 0.12 };
  const p = new Path2D();
  p.moveTo(a.x, a.y);
  p.quadraticCurveTo(bend.x, bend.y, tail.to.x, tail.to.y);
  p.quadraticCurveTo(bend.x, bend.y, b.x, b.y);
  p.closePath();
  return p;
}

export function balloonOutline(plan: BalloonPlan): Path2D {
  let body: Path2D;
  switch (plan.kind) {
    case 'narration': {
      body = new Path2D();
      body.rect(plan.rect.x, plan.rect.y, plan.rect.width, plan.rect.height);
      return body;
    }
    case 'thought':
      return cloudPath(plan.rect);
    case 'shout':
      body = burstPath(plan.rect, hash(plan.lines.join(' ')));
      break;
    default:
      body = ellipsePath(plan.rect);
  }
  return plan.tail ? body.op(tailPath(plan.rect, plan.tail), PathOp.Union) : body;
}

export function drawBalloons(ctx: SKRSContext2D, plans: BalloonPlan[], options: LetteringOptions): void {
  registerLetteringFonts();
  const stroke = Math.max(1.5, options.pageWidthPx * 0.002);
  for (const plan of plans) {
    ctx.save();
    if (plan.kind === 'narration' && options.narrationStyle === 'borderless') {
      // No box: the text stands on the art, kept legible by a white halo.
      drawText(ctx, plan, Math.max(2, plan.fontSizePx * 0.22));
      ctx.restore();
      continue;
    }
    const outline = balloonOutline(plan);
    ctx.fillStyle = '#ffffff';
    ctx.fill(outline);
    ctx.strokeStyle = '#111111';
    ctx.lineJoin = 'round';
    ctx.lineWidth = plan.kind === 'shout' ? stroke * 1.8 : stroke;
    if (plan.kind === 'whisper') ctx.setLineDash([stroke * 4, stroke * 3]);
    ctx.stroke(outline);
    ctx.setLineDash([]);
    if (plan.kind === 'thought' && plan.tail) drawThoughtBubbles(ctx, plan, stroke);
    drawText(ctx, plan);
    ctx.restore();
  }
}

function drawThoughtBubbles(ctx: SKRSContext2D, plan: BalloonPlan, stroke: number): void {
  const { from, to } = plan.tail!;
  const r0 = Math.min(plan.rect.width, plan.rect.height) * 0.09;
  for (let i = 0; i < 3; i++) {
    const t = 0.25 + i * 0.35;
    const x = from.x + (to.x - from.x) * t;
    const y = from.y + (to.y - from.y) * t;
    ctx.beginPath();
    ctx.arc(x, y, r0 * (1 - i * 0.3), 0, Math.PI * 2);
    ctx.fillStyle = '#ffffff';
    ctx.fill();
    ctx.lineWidth = stroke;
    ctx.stroke();
  }
}

function drawText(ctx: SKRSContext2D, plan: BalloonPlan, haloPx = 0): void {
  const japanese = isJapaneseText(plan.lines.join(''));
  const size = plan.fontSizePx;
  ctx.font = fontFor(plan.kind, size, japanese);
  ctx.fillStyle = plan.kind === 'whisper' ? '#444444' : '#111111';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'middle';
  const cx = plan.rect.x + plan.rect.width / 2;
  const cy = plan.rect.y + plan.rect.height / 2;
  if (plan.vertical) {
    // Columns from right to left, glyphs top to bottom, each centred in its em box.
    const pitch = size * 1.35;
    const left = cx + ((plan.lines.length - 1) * pitch) / 2;
    plan.lines.forEach((column, i) => {
      const glyphs = verticalGlyphs(column);
      const x = left - i * pitch;
      let y = cy - (glyphs.length * size) / 2 + size / 2;
      for (const glyph of glyphs) {
        if (glyph.rotate) {
          ctx.save();
          ctx.translate(x, y);
          ctx.rotate(Math.PI / 2);
          ctx.fillText(glyph.text, 0, 0);
          ctx.restore();
        } else {
          ctx.fillText(glyph.text, x, y);
        }
        y += size;
      }
    });
    return;
  }
  const lineHeight = size * 1.18;
  const top = cy - ((plan.lines.length - 1) * lineHeight) / 2;
  plan.lines.forEach((line, i) => {
    if (haloPx > 0) {
      ctx.save();
      ctx.strokeStyle = '#ffffff';
      ctx.lineWidth = haloPx;
      ctx.lineJoin = 'round';
      ctx.strokeText(line, cx, top + i * lineHeight);
      ctx.restore();
    }
    ctx.fillText(line, cx, top + i * lineHeight);
  });
}
