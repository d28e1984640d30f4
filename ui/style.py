"""The look: a few classes on top of Gradio's theme variables (so dark mode follows)."""

from __future__ import annotations

CSS = """
.gradio-container { max-width: 1180px !important; width: 100% !important; margin: 0 auto !important; }
#chat .placeholder-content { padding: 0 32px; text-align: center; color: var(--body-text-color-subdued); }
/* Our HTML blocks carry their own spacing (cards); line them up with the other components. */
.gradio-container .html-container { padding: 0 !important; }
.od-header { display: flex; justify-content: space-between; align-items: center; gap: 12px;
  flex-wrap: wrap; padding: 4px 2px 10px; border-bottom: 1px solid var(--border-color-primary); }
.od-brand { font-size: 1.35rem; font-weight: 700; letter-spacing: .01em; }
.od-who { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
.od-logout { font-size: .9rem; }
.od-badge { display: inline-block; padding: 2px 10px; border-radius: 999px; font-size: .82rem;
  font-weight: 600; background: var(--background-fill-secondary);
  border: 1px solid var(--border-color-primary); white-space: nowrap; }
.od-badge-test { background: #fff4d6; color: #7a5200; border-color: #f0d48a; }
.od-badge-live, .od-badge-active, .od-badge-achieved, .od-badge-completed, .od-badge-answered
  { background: #e3f6e8; color: #1c6b34; border-color: #a9dcb8; }
.od-badge-paused, .od-badge-pending, .od-badge-waiting-for-approval, .od-badge-plan_approval,
.od-badge-check_in, .od-badge-analysis_review, .od-badge-ringing, .od-badge-originating,
.od-badge-in-progress, .od-badge-claimed, .od-badge-analyzing, .od-badge-on-hold
  { background: #e8f0fe; color: #1f4fa3; border-color: #b3c9f5; }
.od-badge-cancelled, .od-badge-rejected, .od-badge-failed, .od-badge-no-answer,
.od-badge-busy, .od-badge-refused
  { background: #f3f3f3; color: #555; border-color: #d6d6d6; }
.od-badge-rehearsal { background: #f1e8fd; color: #5b2a9e; border-color: #d2bdf2; }
.od-badge-technical-failure { background: #fde8e8; color: #a11c1c; border-color: #f3b4b4; }
.od-banner { background: #fde8e8; color: #a11c1c; border: 1px solid #f3b4b4; border-radius: 8px;
  padding: 6px 10px; margin: 6px 0; font-weight: 600; }
.od-end-reason { color: #a11c1c; margin: 4px 0; }
.od-recording-missing { color: #8a5a00; margin: 4px 0; }
.od-badge-urgent, .od-badge-live_question { background: #fde8e8; color: #a11c1c; border-color: #f3b4b4; }
.od-cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 12px; }
.od-card { border: 1px solid var(--border-color-primary); border-radius: 10px; padding: 12px 14px;
  background: var(--background-fill-primary); margin-bottom: 12px; }
.od-cards .od-card { margin-bottom: 0; }
.od-card-head { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; margin-bottom: 6px; }
.od-title { font-weight: 650; font-size: 1.02rem; }
.od-muted { color: var(--body-text-color-subdued); }
.od-small { font-size: .82rem; margin-top: 4px; }
.od-progress { height: 8px; border-radius: 999px; background: var(--background-fill-secondary);
  border: 1px solid var(--border-color-primary); overflow: hidden; margin: 10px 0 2px; }
.od-progress-fill { height: 100%; background: var(--color-accent); }
.od-progress-label { font-size: .82rem; color: var(--body-text-color-subdued); }
.od-empty { border: 1px dashed var(--border-color-primary); border-radius: 10px; padding: 22px;
  text-align: center; color: var(--body-text-color-subdued); }
.od-empty strong { color: var(--body-text-color); font-size: 1.02rem; }
.od-empty p { margin: 6px 0 0; }
.od-call { border-top: 1px solid var(--border-color-primary); padding: 8px 0 2px; margin-top: 8px; }
.od-call summary { cursor: pointer; }
.od-call audio { width: 100%; margin: 8px 0; }
.od-transcript { display: flex; flex-direction: column; gap: 4px; margin: 8px 0; max-height: 320px;
  overflow-y: auto; }
.od-turn { display: grid; grid-template-columns: 80px 1fr; gap: 8px; }
.od-speaker { font-weight: 600; color: var(--body-text-color-subdued); }
.od-turn-ai .od-speaker { color: var(--color-accent); }
.od-facts h4, .od-analysis h4 { margin: 10px 0 4px; font-size: .95rem; }
.od-facts ul { margin: 0; padding-left: 18px; }
.od-facts blockquote { margin: 2px 0 6px !important; padding-left: 10px; font-style: italic;
  border-left: 3px solid var(--border-color-primary); color: var(--body-text-color-subdued); }
.od-analysis p { margin: 4px 0; }
.od-bar-row { display: grid; grid-template-columns: 150px 1fr 40px; gap: 10px; align-items: center;
  margin: 6px 0; }
.od-bar-label { text-align: right; color: var(--body-text-color-subdued); }
.od-bar { height: 16px; background: var(--background-fill-secondary); border-radius: 4px; overflow: hidden; }
.od-bar-fill { display: block; height: 100%; background: var(--color-accent); border-radius: 4px; }
.od-result-no-answer, .od-result-busy, .od-result-failed, .od-result-congestion,
.od-result-refused, .od-result-wrong-number { background: #9aa3af; }
.od-result-in-progress { background: #93b4f0; }
.od-bar-count { font-variant-numeric: tabular-nums; font-weight: 600; }
.od-summary { margin: 8px 0 0; }
.od-urgent { border: 2px solid #e05252; background: #fff7f7; }
.dark .od-urgent { background: transparent; }
.od-question { font-size: 1.05rem; font-weight: 600; margin: 4px 0 8px; }
.od-countdown { margin-left: auto; white-space: nowrap; font-weight: 700; color: #a11c1c; font-variant-numeric: tabular-nums; }
.od-countdown.od-late { animation: od-blink 1s steps(2, start) infinite; }
@keyframes od-blink { to { visibility: hidden; } }
.od-ask { background: #fde8e8; color: #a11c1c; border-radius: 8px; padding: 8px 10px; margin: 8px 0; }
.od-warning { background: #fff4d6; color: #7a5200; border-radius: 8px; padding: 6px 10px; margin-top: 6px; }
.od-table { width: 100%; border-collapse: collapse; margin: 8px 0; border: none !important; }
.od-table thead, .od-table tbody, .od-table tr { border: none !important; }
.od-nowrap { white-space: nowrap; }
.od-table th, .od-table td { text-align: left; padding: 4px 8px !important; border: none !important;
  border-bottom: 1px solid var(--border-color-primary) !important; background: transparent !important; }
.od-table th { font-weight: 600; color: var(--body-text-color-subdued); }
.od-dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 6px 0; }
.od-dl dt { font-weight: 600; }
.od-dl dd { margin: 0; }
.od-dl dd ul { margin: 0; padding-left: 18px; }
.od-badge-unsupported { background: #fff4d6; color: #7a5200; border-color: #f0d48a; font-weight: 500; }
.od-note { color: var(--body-text-color-subdued); font-size: .9rem; }
.od-problems { border: 1px solid #f3b4b4; background: #fff7f7; border-radius: 8px; padding: 8px 12px; }
.od-problems ul { margin: 4px 0 0; padding-left: 18px; }
.od-ok { border: 1px solid #a9dcb8; background: #f2fbf4; border-radius: 8px; padding: 8px 12px; }
.od-listen-box { margin-left: auto; display: inline-flex; align-items: center; gap: 8px; }
.od-listen { border: 1px solid var(--border-color-primary); border-radius: 999px; padding: 2px 14px;
  background: var(--background-fill-secondary); font-weight: 600; cursor: pointer; }
.od-listen[aria-pressed="true"] { background: #e3f6e8; color: #1c6b34; border-color: #a9dcb8; }
.od-turn-note .od-speaker { color: #7a5200; }
.od-turn-note span:last-child { font-style: italic; }
"""

# Counts down every live-call question on the page without a server round trip; plays a call
# the owner listens in on (`ui.listen`'s records: 2-byte length, 8-byte mixed-at time in ms,
# 8 kHz μ-law) through WebAudio, about 0.1 s behind, never more than 0.6 s (late audio is
# dropped); `window.odListen` keeps the figures a test reads.
HEAD = """
<script>
(() => {
  const ULAW = new Float32Array(256);
  for (let i = 0; i < 256; i++) {
    const u = ~i & 0xff;
    let t = ((u & 0x0f) << 3) + 0x84;
    t <<= (u & 0x70) >> 4;
    ULAW[i] = ((u & 0x80) ? 0x84 - t : t - 0x84) / 32768;
  }
  const LEAD = 0.1, MAX_LEAD = 0.6, RATE = 8000;
  const me = window.odListen = { call: null, last: null, status: '', message: '', bytes: 0, records: 0,
    dropped: 0, delays: [], leads: [], firstAudioMs: null };
  let ctrl = null, ctx = null, playhead = 0;
  const play = (audio) => {
    const now = ctx.currentTime;
    if (playhead < now + LEAD / 2) playhead = now + LEAD;
    if (playhead > now + MAX_LEAD) { me.dropped += audio.length; return; }
    const buffer = ctx.createBuffer(1, audio.length, RATE);
    const samples = buffer.getChannelData(0);
    for (let i = 0; i < audio.length; i++) samples[i] = ULAW[audio[i]];
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(ctx.destination);
    source.start(playhead);
    me.leads.push(playhead - now);
    playhead += audio.length / RATE;
  };
  const stop = (message) => {
    if (ctrl) ctrl.abort();
    if (ctx) ctx.close();
    ctrl = ctx = null;
    me.call = null;
    me.status = 'stopped';
    me.message = message || '';
  };
  const start = async (call) => {
    stop();
    Object.assign(me, { call, last: call, status: 'connecting', message: 'connecting…', bytes: 0,
      records: 0, dropped: 0, delays: [], leads: [], firstAudioMs: null });
    const mine = ctrl = new AbortController();
    ctx = new AudioContext();
    playhead = 0;
    const asked = performance.now();
    try {
      let response;
      for (let tries = 0; ; tries++) {
        response = await fetch(`live/${call}/listen`, { signal: mine.signal,
          credentials: 'same-origin', cache: 'no-store' });
        // Answered but not connected yet: asked again, for up to 15 s.
        if (response.status !== 409 || !response.headers.get('Retry-After') || tries >= 15) break;
        me.message = 'waiting for the call to connect…';
        await new Promise((done) => setTimeout(done, 1000));
        if (ctrl !== mine) return;
      }
      if (!response.ok) {
        const body = await response.json().catch(() => ({}));
        if (ctrl === mine) stop(body.detail || `not available (${response.status})`);
        return;
      }
      me.status = 'listening';
      me.message = 'listening';
      const reader = response.body.getReader();
      let held = new Uint8Array(0);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const joined = new Uint8Array(held.length + value.length);
        joined.set(held);
        joined.set(value, held.length);
        let at = 0;
        const view = new DataView(joined.buffer);
        while (joined.length - at >= 10) {
          const size = view.getUint16(at, true);
          if (joined.length - at < 10 + size) break;
          const mixedAt = view.getFloat64(at + 2, true);
          const audio = joined.subarray(at + 10, at + 10 + size);
          if (me.firstAudioMs === null) me.firstAudioMs = performance.now() - asked;
          me.bytes += size;
          me.records += 1;
          me.delays.push(Date.now() - mixedAt);
          if (me.delays.length > 500) me.delays.shift();
          if (me.leads.length > 500) me.leads.shift();
          play(audio);
          at += 10 + size;
        }
        held = joined.slice(at);
      }
      if (ctrl === mine) stop('the call has ended');
    } catch (error) {
      if (ctrl === mine) stop('the connection was lost');
    }
  };
  document.addEventListener('click', (event) => {
    const button = event.target.closest && event.target.closest('[data-listen-call]');
    if (!button) return;
    event.preventDefault();
    const call = button.dataset.listenCall;
    if (me.call === call) stop(''); else start(call);
    sync();
  });
  // The cards are redrawn as the calls move on: the buttons follow the player.
  const sync = () => {
    for (const button of document.querySelectorAll('[data-listen-call]')) {
      const on = me.call === button.dataset.listenCall;
      button.textContent = on ? 'Stop listening' : 'Listen';
      button.setAttribute('aria-pressed', String(on));
    }
    for (const note of document.querySelectorAll('[data-listen-status]')) {
      note.textContent = me.last === note.dataset.listenStatus ? me.message : '';
    }
  };
  setInterval(sync, 250);
})();
(() => {
  const tick = () => {
    for (const el of document.querySelectorAll('[data-expires-at]')) {
      const left = Math.round((Date.parse(el.dataset.expiresAt) - Date.now()) / 1000);
      el.textContent = left > 0
        ? `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')} left to answer`
        : 'time is up';
      el.classList.toggle('od-late', left <= 15);
    }
  };
  setInterval(tick, 500);
})();
</script>
"""
