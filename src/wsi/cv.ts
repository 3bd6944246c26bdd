// OpenCV (WebAssembly build from @techstark/opencv-js), loaded once.
// The module object is an Emscripten thenable whose then() hands back itself: awaiting it
// directly never settles, so readiness is awaited through onRuntimeInitialized and the module
// is returned wrapped in an object.
let loading: Promise<{ cv: any }> | null = null;

export function loadCv(): Promise<{ cv: any }> {
  loading ??= (async () => {
    const m: any = await import('@techstark/opencv-js');
    const cv: any = m.default ?? m;
    const ready = () => {
      try {
        new cv.Mat().delete();
        return true;
      } catch {
        return false;
      }
    };
    if (!ready()) {
      await new Promise<void>((resolve) => {
        const prev = cv.onRuntimeInitialized;
        cv.onRuntimeInitialized = () => {
          prev?.();
          resolve();
        };
        if (ready()) resolve();
      });
    }
    return { cv };
  })();
  return loading;
}

/** Deletes OpenCV objects even when an exception unwinds. */
export function using<T>(objs: { delete(): void }[], fn: () => T): T {
  try {
    return fn();
  } finally {
    for (const o of objs) {
      try {
        o.delete();
      } catch {
        /* already deleted */
      }
    }
  }
}
