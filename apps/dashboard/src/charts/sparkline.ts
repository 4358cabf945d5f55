/** A sparkline drawn straight onto a canvas: no library, no DOM per point, one path per frame. */
import type { Ring } from '../live/ring';

/**
 * The CSS size of a sparkline, the same for all of them (`.spark`), measured once. Reading it per
 * drawing forced a layout of the whole overview each time, right after another row's value changed:
 * a dozen layouts in one frame, and frames over 100 ms, with a fleet streaming.
 */
let size: { width: number; height: number } | undefined;
if (typeof window !== 'undefined') {
  window.addEventListener('resize', () => {
    size = undefined;
  });
}

export function drawSparkline(canvas: HTMLCanvasElement, ring: Ring | undefined, color: string): void {
  const ratio = window.devicePixelRatio || 1;
  if (!size || size.width === 0) size = { width: canvas.clientWidth, height: canvas.clientHeight };
  const { width, height } = size;
  if (width === 0 || height === 0) return;
  if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
  if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
  const context = canvas.getContext('2d');
  if (!context) return;
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  if (!ring || ring.size < 2) return;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  ring.forEach((_t, v) => {
    if (v < min) min = v;
    if (v > max) max = v;
  });
  const span = max - min || 1;
  const step = width / (ring.capacity - 1);
  const offset = (ring.capacity - ring.size) * step;
  context.beginPath();
  ring.forEach((_t, v, i) => {
    const x = offset + i * step;
    const y = height - 2 - ((v - min) / span) * (height - 4);
    if (i === 0) context.moveTo(x, y);
    else context.lineTo(x, y);
  });
  context.strokeStyle = color;
  context.lineWidth = 1.5;
  context.stroke();
}
