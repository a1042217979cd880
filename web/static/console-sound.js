// The advisor console's sounds: a short tone for what is new, two for a
// visitor in danger, and the mute button.
import { el } from './console-page.js';

// Whether sounds are muted lasts as long as the tab: nothing about the
// advisor is kept beyond the session.
const MUTE_KEY = 'advicechat.advisor.mute';

let muted = sessionStorage.getItem(MUTE_KEY) === '1';
let audio = null;
let lastBeep = 0;
let quietUntil = 0; // no sound for what a (re)connect replays

// A browser lets a page play sound only after the person did something
// on it: the context starts at the first click or key.
function unlockAudio() {
  try {
    if (!audio && window.AudioContext) audio = new AudioContext();
    if (audio?.state === 'suspended') audio.resume().catch(() => {});
  } catch {
    audio = null;
  }
}
document.addEventListener('pointerdown', unlockAudio, true);
document.addEventListener('keydown', unlockAudio, true);

// beep plays a short tone, two for a visitor in danger. No sound file:
// the Web Audio API makes it.
export function beep(urgent = false) {
  const now = Date.now();
  if (muted || !audio || audio.state !== 'running' || now - lastBeep < 1500) return;
  lastBeep = now;
  try {
    for (const offset of urgent ? [0, 0.25] : [0]) {
      const start = audio.currentTime + offset;
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = 'sine';
      osc.frequency.value = urgent ? 988 : 784;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.2);
      osc.connect(gain).connect(audio.destination);
      osc.start(start);
      osc.stop(start + 0.22);
    }
  } catch {
    // no sound is no reason to fail
  }
}

// hush keeps notify quiet for ms: what a (re)connect replays is not new.
export function hush(ms) {
  quietUntil = Date.now() + ms;
}

// notify rings for something new unless it is what a reconnect replays.
export function notify(urgent = false) {
  if (Date.now() >= quietUntil) beep(urgent);
}

export function renderMute() {
  el.mute.setAttribute('aria-pressed', String(muted));
}

el.mute.addEventListener('click', () => {
  muted = !muted;
  if (muted) sessionStorage.setItem(MUTE_KEY, '1');
  else sessionStorage.removeItem(MUTE_KEY);
  renderMute();
});
