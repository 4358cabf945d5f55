/**
 * One `requestAnimationFrame` for the whole app. Readings arrive thousands of times a second; what
 * they change is only marked here, and each marked drawing runs once in the next frame. Nothing that
 * streams ever causes a React render per reading.
 */
type Draw = () => void;

const dirty = new Set<Draw>();
let scheduled = false;

function flush(): void {
  scheduled = false;
  const batch = [...dirty];
  dirty.clear();
  for (const draw of batch) {
    try {
      draw();
    } catch (error) {
      console.error('a live view failed to draw', error);
    }
  }
}

/** Runs `draw` once in the next animation frame, however often it is requested before then. */
export function requestDraw(draw: Draw): void {
  dirty.add(draw);
  if (!scheduled) {
    scheduled = true;
    requestAnimationFrame(flush);
  }
}

export function cancelDraw(draw: Draw): void {
  dirty.delete(draw);
}
