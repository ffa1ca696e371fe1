import * as ort from 'onnxruntime-node';
import { KomaError } from '../../domain/errors.js';
import type { InferenceComponent } from '../onnx/session.js';

/**
 * The VAE between pixels and latents. Pixels here are packed RGB bytes
 * (width × height × 3); the ONNX graphs take planar [1, 3, H, W] in −1..1.
 * Latents leave the encoder and enter the decoder divided by the model's
 * scaling factor, as the UNet was trained on scaled latents.
 */
export class Vae {
  constructor(
    private readonly decoder: InferenceComponent,
    private readonly encoder: InferenceComponent | undefined,
    readonly scalingFactor: number,
    /** Latent channels (4 for SD-family VAEs). */
    readonly channels = 4,
    readonly factor = 8,
  ) {}

  get canEncode(): boolean {
    return this.encoder !== undefined;
  }

  /** Scaled latents [C, h, w] → packed RGB of (w·8)×(h·8). */
  async decode(latents: Float32Array, width: number, height: number): Promise<Buffer> {
    const h = height / this.factor;
    const w = width / this.factor;
    const input = latents.map((v) => v / this.scalingFactor);
    const outputs = await this.decoder.run({ [this.decoder.inputNames[0]!]: new ort.Tensor('float32', input, [1, this.channels, h, w]) });
    const image = outputs[this.decoder.outputNames[0]!]!;
    const [, c, H, W] = image.dims.map(Number) as [number, number, number, number];
    if (c !== 3 || H !== height || W !== width) {
      throw new KomaError('model', `the VAE decoder made a ${c}×${H}×${W} image from ${this.channels}×${h}×${w} latents; expected 3×${height}×${width}`);
    }
    return planarToPacked(image.data as Float32Array, width, height);
  }

  /**
   * Packed RGB → scaled latents: the mean of the encoder's distribution (not a
   * sample), so the same image always gives the same latents.
   */
  async encode(rgb: Uint8Array, width: number, height: number): Promise<Float32Array> {
    if (!this.encoder) throw new KomaError('model', 'this model has no VAE encoder (vae_encoder/model.onnx), which img2img and storyboard init need');
    if (rgb.length !== width * height * 3) throw new Error(`expected ${width}×${height} RGB, got ${rgb.length} bytes`);
    const outputs = await this.encoder.run({ [this.encoder.inputNames[0]!]: new ort.Tensor('float32', packedToPlanar(rgb, width, height), [1, 3, height, width]) });
    const out = outputs[this.encoder.outputNames[0]!]!;
    const channels = Number(out.dims[1]);
    // optimum exports give mean‖logvar (2C channels); older exports a latent sample (C).
    if (channels !== this.channels && channels !== 2 * this.channels) throw new KomaError('model', `the VAE encoder gives ${channels} channels; expected ${this.channels} or ${2 * this.channels}`);
    const cells = (width / this.factor) * (height / this.factor);
    return (out.data as Float32Array).slice(0, this.channels * cells).map((v) => v * this.scalingFactor);
  }
}

export function packedToPlanar(rgb: Uint8Array, width: number, height: number): Float32Array {
  const cells = width * height;
  const out = new Float32Array(3 * cells);
  for (let i = 0; i < cells; i++) for (let c = 0; c < 3; c++) out[c * cells + i] = rgb[i * 3 + c]! / 127.5 - 1;
  return out;
}

export function planarToPacked(planar: Float32Array, width: number, height: number): Buffer {
  const cells = width * height;
  const out = Buffer.alloc(cells * 3);
  // Channel by channel: reads stay sequential (this runs once per decoded pixel).
  for (let c = 0; c < 3; c++) {
    const plane = planar.subarray(c * cells, (c + 1) * cells);
    for (let i = 0; i < cells; i++) {
      const v = plane[i]!;
      out[i * 3 + c] = Math.round((v > 1 ? 1 : v < -1 ? -1 : v) * 127.5 + 127.5);
    }
  }
  return out;
}
