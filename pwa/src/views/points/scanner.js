// The camera QR reader, loaded only when a cashier taps 扫码 (it keeps jsQR out of the app's
// first download). The browser's own BarcodeDetector is used where it exists; jsQR reads the
// video frames elsewhere.

/** Start reading QR codes from the back camera into `video`; calls onCode(text) once. */
export async function startScanner(video, onCode) {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
  video.srcObject = stream;
  video.setAttribute('playsinline', '');
  await video.play();
  let detector = null;
  if ('BarcodeDetector' in window) {
    try {
      detector = new window.BarcodeDetector({ formats: ['qr_code'] });
    } catch {
      detector = null;
    }
  }
  const jsQR = detector ? null : (await import('jsqr')).default;
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  let running = true;

  async function frame() {
    if (!running) return;
    try {
      let text = null;
      if (detector) {
        const found = await detector.detect(video);
        text = found[0]?.rawValue || null;
      } else if (video.videoWidth) {
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
        ctx.drawImage(video, 0, 0);
        const image = ctx.getImageData(0, 0, canvas.width, canvas.height);
        text = jsQR(image.data, image.width, image.height, { inversionAttempts: 'dontInvert' })?.data || null;
      }
      if (text) {
        stop();
        onCode(text);
        return;
      }
    } catch {
      // a frame that could not be read: try the next one
    }
    setTimeout(frame, 150);
  }

  function stop() {
    running = false;
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  }

  frame();
  return stop;
}
