/**
 * The one progress shape for long work, from the sampler up to the Discord
 * message and the terminal. `preview` is a small RGB image when the producer has one.
 */
export interface Progress {
  step: number;
  total: number;
  /** What is being worked on, e.g. `panel 3/6` or `denoising`. */
  label?: string;
  preview?: PreviewImage;
}

export interface PreviewImage {
  width: number;
  height: number;
  /** Packed RGB, 3 bytes per pixel, row-major. */
  rgb: Uint8Array;
}

export type ProgressListener = (progress: Progress) => void;
