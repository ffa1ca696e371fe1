/**
 * Draws the example story's reference images (Aki, Ren, Mochi) so that the
 * repository needs no outside art. Run `npx tsx examples/draw-characters.ts`
 * to remake examples/characters/*.png.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SKRSContext2D, createCanvas } from '@napi-rs/canvas';

const W = 512;
const H = 768;
const INK = '#141414';
const SKIN = '#f6dcc6';

type Draw = (ctx: SKRSContext2D) => void;

function sheet(draw: Draw): Buffer {
  const canvas = createCanvas(W, H);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, W, H);
  ctx.lineJoin = 'round';
  ctx.lineCap = 'round';
  ctx.strokeStyle = INK;
  ctx.lineWidth = 6;
  draw(ctx);
  return canvas.toBuffer('image/png');
}

function shape(ctx: SKRSContext2D, fill: string, build: () => void, lineWidth = 6): void {
  ctx.beginPath();
  build();
  ctx.closePath();
  ctx.fillStyle = fill;
  ctx.fill();
  ctx.lineWidth = lineWidth;
  ctx.stroke();
}

function face(ctx: SKRSContext2D, cx: number, cy: number, r: number, eyeColor: string): void {
  shape(ctx, SKIN, () => ctx.ellipse(cx, cy, r * 0.9, r, 0, 0, Math.PI * 2));
  for (const side of [-1, 1]) {
    const ex = cx + side * r * 0.38;
    const ey = cy + r * 0.12;
    shape(ctx, '#ffffff', () => ctx.ellipse(ex, ey, r * 0.16, r * 0.22, 0, 0, Math.PI * 2), 4);
    shape(ctx, eyeColor, () => ctx.ellipse(ex, ey + r * 0.04, r * 0.1, r * 0.16, 0, 0, Math.PI * 2), 2);
    ctx.fillStyle = '#ffffff';
    ctx.beginPath();
    ctx.arc(ex + r * 0.04, ey - r * 0.04, r * 0.04, 0, Math.PI * 2);
    ctx.fill();
  }
  ctx.lineWidth = 4;
  ctx.beginPath();
  ctx.arc(cx, cy + r * 0.5, r * 0.18, 0.15 * Math.PI, 0.85 * Math.PI);
  ctx.stroke();
}

function legs(ctx: SKRSContext2D, cx: number, top: number, bottom: number, spread: number, color: string): void {
  for (const side of [-1, 1]) {
    shape(ctx, color, () => {
      ctx.moveTo(cx + side * 8, top);
      ctx.lineTo(cx + side * spread, top);
      ctx.lineTo(cx + side * (spread - 4), bottom - 30);
      ctx.lineTo(cx + side * 12, bottom - 30);
    });
    shape(ctx, INK, () => ctx.ellipse(cx + side * (spread * 0.6 + 6), bottom - 18, spread * 0.55, 16, 0, 0, Math.PI * 2), 4);
  }
}

const aki: Draw = (ctx) => {
  const cx = W / 2;
  legs(ctx, cx, 520, 740, 44, SKIN);
  // Pleated skirt and sailor top.
  shape(ctx, '#2b3a67', () => {
    ctx.moveTo(cx - 70, 430);
    ctx.lineTo(cx + 70, 430);
    ctx.lineTo(cx + 100, 540);
    ctx.lineTo(cx - 100, 540);
  });
  for (const x of [-50, -15, 20, 55]) {
    ctx.beginPath();
    ctx.moveTo(cx + x * 0.8, 432);
    ctx.lineTo(cx + x * 1.3, 538);
    ctx.lineWidth = 3;
    ctx.stroke();
  }
  for (const side of [-1, 1]) {
    shape(ctx, '#ffffff', () => {
      ctx.moveTo(cx + side * 62, 270);
      ctx.lineTo(cx + side * 110, 420);
      ctx.lineTo(cx + side * 92, 430);
      ctx.lineTo(cx + side * 58, 330);
    });
    shape(ctx, SKIN, () => ctx.ellipse(cx + side * 104, 440, 16, 20, 0, 0, Math.PI * 2), 4);
  }
  shape(ctx, '#ffffff', () => {
    ctx.moveTo(cx - 66, 260);
    ctx.lineTo(cx + 66, 260);
    ctx.lineTo(cx + 72, 440);
    ctx.lineTo(cx - 72, 440);
  });
  // Red scarf with a trailing end.
  shape(ctx, '#d22f2f', () => {
    ctx.moveTo(cx - 70, 240);
    ctx.quadraticCurveTo(cx, 290, cx + 70, 240);
    ctx.lineTo(cx + 74, 275);
    ctx.quadraticCurveTo(cx, 320, cx - 74, 275);
  });
  shape(ctx, '#d22f2f', () => {
    ctx.moveTo(cx + 30, 285);
    ctx.lineTo(cx + 62, 390);
    ctx.lineTo(cx + 34, 396);
    ctx.lineTo(cx + 12, 295);
  });
  face(ctx, cx, 170, 88, '#3b2a1a');
  // Short black bob with bangs.
  shape(ctx, INK, () => {
    ctx.moveTo(cx - 98, 220);
    ctx.bezierCurveTo(cx - 130, 25, cx + 130, 25, cx + 98, 220);
    ctx.lineTo(cx + 70, 215);
    ctx.lineTo(cx + 62, 130);
    ctx.lineTo(cx + 20, 150);
    ctx.lineTo(cx - 10, 125);
    ctx.lineTo(cx - 40, 150);
    ctx.lineTo(cx - 66, 130);
    ctx.lineTo(cx - 72, 215);
  });
};

const ren: Draw = (ctx) => {
  const cx = W / 2;
  legs(ctx, cx, 480, 750, 48, '#4a4f5a');
  // Open jacket over a T-shirt.
  shape(ctx, '#ffffff', () => {
    ctx.moveTo(cx - 60, 250);
    ctx.lineTo(cx + 60, 250);
    ctx.lineTo(cx + 62, 490);
    ctx.lineTo(cx - 62, 490);
  });
  for (const side of [-1, 1]) {
    shape(ctx, '#3d6e8f', () => {
      ctx.moveTo(cx + side * 20, 240);
      ctx.lineTo(cx + side * 84, 250);
      ctx.lineTo(cx + side * 130, 470);
      ctx.lineTo(cx + side * 100, 480);
      ctx.lineTo(cx + side * 80, 360);
      ctx.lineTo(cx + side * 78, 500);
      ctx.lineTo(cx + side * 30, 500);
    });
    shape(ctx, SKIN, () => ctx.ellipse(cx + side * 118, 490, 17, 21, 0, 0, Math.PI * 2), 4);
  }
  face(ctx, cx, 165, 82, '#4a7a3a');
  // Spiky light hair.
  shape(ctx, '#f2d37a', () => {
    ctx.moveTo(cx - 92, 190);
    const spikes = [
      [-120, 120], [-80, 110], [-100, 40], [-40, 80], [-20, 10], [10, 70], [60, 0], [60, 80], [120, 40], [85, 120], [118, 150],
    ];
    for (const [dx, y] of spikes) ctx.lineTo(cx + dx!, y!);
    ctx.lineTo(cx + 92, 190);
    ctx.lineTo(cx + 70, 130);
    ctx.lineTo(cx + 30, 150);
    ctx.lineTo(cx - 5, 120);
    ctx.lineTo(cx - 45, 150);
    ctx.lineTo(cx - 75, 130);
  });
};

const mochi: Draw = (ctx) => {
  const cx = W / 2;
  // Black tail curling up behind a round white body.
  ctx.lineWidth = 26;
  ctx.strokeStyle = INK;
  ctx.beginPath();
  ctx.moveTo(cx + 120, 640);
  ctx.bezierCurveTo(cx + 260, 600, cx + 230, 420, cx + 170, 440);
  ctx.stroke();
  ctx.lineWidth = 6;
  shape(ctx, '#ffffff', () => ctx.ellipse(cx, 600, 160, 130, 0, 0, Math.PI * 2));
  for (const side of [-1, 1]) {
    shape(ctx, '#ffffff', () => ctx.ellipse(cx + side * 70, 715, 40, 22, 0, 0, Math.PI * 2));
    shape(ctx, '#ffffff', () => {
      ctx.moveTo(cx + side * 40, 330);
      ctx.lineTo(cx + side * 120, 250);
      ctx.lineTo(cx + side * 130, 360);
    });
    shape(ctx, '#f4b6c2', () => {
      ctx.moveTo(cx + side * 62, 330);
      ctx.lineTo(cx + side * 112, 280);
      ctx.lineTo(cx + side * 116, 345);
    }, 3);
  }
  shape(ctx, '#ffffff', () => ctx.ellipse(cx, 400, 135, 110, 0, 0, Math.PI * 2));
  for (const side of [-1, 1]) {
    shape(ctx, INK, () => ctx.ellipse(cx + side * 50, 395, 16, 24, 0, 0, Math.PI * 2), 2);
    ctx.lineWidth = 3;
    for (const dy of [-8, 8]) {
      ctx.beginPath();
      ctx.moveTo(cx + side * 80, 440 + dy);
      ctx.lineTo(cx + side * 150, 430 + dy * 2);
      ctx.stroke();
    }
  }
  shape(ctx, '#f08aa0', () => {
    ctx.moveTo(cx - 10, 430);
    ctx.lineTo(cx + 10, 430);
    ctx.lineTo(cx, 442);
  }, 3);
};

const outDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'characters');
for (const [name, draw] of Object.entries({ aki, ren, mochi })) {
  writeFileSync(path.join(outDir, `${name}.png`), sheet(draw));
  console.log(`wrote ${path.join(outDir, `${name}.png`)}`);
}
