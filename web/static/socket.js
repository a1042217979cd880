// A WebSocket that reconnects with backoff and jitter (docs/protocol.md,
// "Resume"). The page decides what to say on every (re)connect and whether a
// close is final; this module only keeps a connection alive.

const BACKOFF_SECONDS = [1, 2, 5, 10, 20, 30];

// socketURL builds the WebSocket URL of an endpoint on this origin.
export function socketURL(path) {
  return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + path;
}

export class ReconnectingSocket {
  // handlers: onopen(), onframe(object), onclose(CloseEvent) -> boolean
  // (true: reconnect), onstatus(connected: boolean, retrying: boolean).
  constructor(url, handlers) {
    this.url = url;
    this.handlers = handlers;
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.stopped = false;
    this.onOnline = () => this.retryNow();
    window.addEventListener('online', this.onOnline);
  }

  connect() {
    this.stopped = false;
    clearTimeout(this.timer);
    this.timer = null;
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      this.status(true, false);
      this.handlers.onopen?.();
    };
    ws.onmessage = (ev) => {
      // The server answered something: the connection works, so the next
      // failure starts the backoff from the beginning again.
      this.attempt = 0;
      let frame;
      try {
        frame = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (frame && typeof frame.type === 'string') this.handlers.onframe?.(frame);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      const again = !this.stopped && (this.handlers.onclose?.(ev) ?? true);
      if (!again) {
        this.close();
        return;
      }
      // 1001: the server is going away; another instance can take us at once.
      this.schedule(ev.code === 1001 ? 0 : this.nextDelay());
    };
  }

  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  // send writes a frame if the socket is open and reports whether it did.
  send(frame) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  // close ends the connection for good (no reconnect).
  close(code = 1000) {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = null;
    window.removeEventListener('online', this.onOnline);
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(code);
    this.status(false, false);
  }

  retryNow() {
    if (this.timer !== null && !this.stopped) this.schedule(0);
  }

  nextDelay() {
    const base = BACKOFF_SECONDS[Math.min(this.attempt, BACKOFF_SECONDS.length - 1)];
    this.attempt++;
    // Up to 30 % jitter so that clients dropped together do not return together.
    return base * 1000 * (1 + Math.random() * 0.3);
  }

  schedule(delay) {
    clearTimeout(this.timer);
    this.status(false, true);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.stopped) this.connect();
    }, delay + Math.random() * 250);
  }

  status(connected, retrying) {
    this.handlers.onstatus?.(connected, retrying);
  }
}
