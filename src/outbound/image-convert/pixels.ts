/** Decoded images as rows of RGBA pixels, the form between a BMP or ICO and the PNG made of it. */

/**
 * Decoded pixels, top row first, already laid out as PNG scanlines (a filter byte of 0, "None", then RGBA) so
 * encoding needs no second copy of what may be hundreds of megabytes.
 */
export class RgbaScanlines {
  readonly stride: number;
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.stride = 1 + width * 4;
    this.data = new Uint8Array(this.stride * height); // zeros: filter bytes "None", pixels transparent black
  }

  /** Where pixel (0, y) starts in `data`. */
  rowStart(y: number): number {
    return y * this.stride + 1;
  }

  set(x: number, y: number, red: number, green: number, blue: number, alpha: number): void {
    const at = this.rowStart(y) + x * 4;
    this.data[at] = red;
    this.data[at + 1] = green;
    this.data[at + 2] = blue;
    this.data[at + 3] = alpha;
  }

  makeOpaque(): void {
    for (let y = 0; y < this.height; y += 1) {
      const end = this.rowStart(y) + this.width * 4;
      for (let at = this.rowStart(y) + 3; at < end; at += 4) this.data[at] = 255;
    }
  }

  isOpaque(): boolean {
    for (let y = 0; y < this.height; y += 1) {
      const end = this.rowStart(y) + this.width * 4;
      for (let at = this.rowStart(y) + 3; at < end; at += 4) if (this.data[at] !== 255) return false;
    }
    return true;
  }

  /** The same pixels as RGB scanlines, compacted in place (each byte moves to a lower or equal index, so none is overwritten before it is read). */
  toRgbScanlines(): Uint8Array {
    const rgbStride = 1 + this.width * 3;
    for (let y = 0; y < this.height; y += 1) {
      let from = this.rowStart(y);
      let to = y * rgbStride;
      this.data[to++] = 0;
      for (let x = 0; x < this.width; x += 1, from += 4, to += 3) {
        const red = this.data[from]!;
        const green = this.data[from + 1]!;
        const blue = this.data[from + 2]!;
        this.data[to] = red;
        this.data[to + 1] = green;
        this.data[to + 2] = blue;
      }
    }
    return this.data.subarray(0, rgbStride * this.height);
  }
}
