/* The shop-origin pay frame (in the publisher's page) and pay window
 * (a popup). The click that pays happens here, on the shop's origin. */
(function () {
  'use strict';
  var body = document.body;
  var shop = body.getAttribute('data-shop');
  var mode = body.getAttribute('data-mode');
  var params = new URLSearchParams(location.search);
  var claimed = params.get('o') || '';
  var ancestors = location.ancestorOrigins;
  var parentOrigin = (ancestors && ancestors.length) ? ancestors[0] : claimed;
  var btn = document.getElementById('pay');
  var note = document.getElementById('note');
  var st = null, busy = false, pending = null, popup = null, popupClick = '', auto = false, greeted = false;

  function rnd() {
    var a = new Uint8Array(16);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return (b + 256).toString(16).slice(1); }).join('');
  }

  // To the publisher's page (frame) or to whoever opened us (popup):
  // delivered only where the target origin really is.
  function tell(msg) {
    msg.v = 1; msg.shop = shop;
    if (mode === 'frame') {
      if (parentOrigin && parent !== window) parent.postMessage(msg, parentOrigin);
      return;
    }
    if (!window.opener) return;
    try { window.opener.postMessage(msg, location.origin); } catch (e) {}
    if (claimed && claimed !== location.origin) { try { window.opener.postMessage(msg, claimed); } catch (e) {} }
  }

  function show(label, state, text) {
    btn.textContent = label;
    btn.setAttribute('data-state', state);
    body.setAttribute('data-state', state);
    if (note) note.textContent = text || '';
    tell({type: 'state', label: label, state: state});
  }

  function unpaired() {
    pending = null;
    if (mode === 'frame') { show('Pay ' + st.price_sats + ' sats', 'ready'); return; }
    btn.disabled = true;
    show('Not paired', 'unpaired', 'This browser is not paired with a shopfile wallet. In a terminal, run\n\n  ' +
      st.pair_hint + '\n\nand open the link it prints in this browser, then click the button again.');
  }

  function ready() {
    btn.disabled = false;
    if (!st.paired) { unpaired(); return; }
    if (st.owned) { show('Paid \u2713 \u00b7 unlock', 'owned', 'You bought this already: clicking charges nothing.'); return; }
    show('Pay ' + st.price_sats + ' sats', 'ready', mode === 'popup' ?
      'Pay ' + st.price_sats + ' sats for \u201c' + st.title + '\u201d from your shopfile wallet.' : '');
  }

  function load() {
    return fetch('/pay/state?shop=' + encodeURIComponent(shop), {credentials: 'same-origin', cache: 'no-store'})
      .then(function (r) { return r.json().then(function (j) { return {r: r, j: j}; }); })
      .then(function (x) {
        if (!x.r.ok) { show('Unavailable', 'error', x.j.error || ''); return false; }
        st = x.j; ready(); return true;
      }, function () { show('Unavailable', 'error', 'The shop cannot be reached.'); return false; });
  }

  function done() {
    if (mode === 'popup') setTimeout(function () { window.close(); }, auto ? 600 : 1500);
  }

  function pay() {
    if (busy) return;
    busy = true; btn.disabled = true;
    if (!pending) pending = {click: rnd(), confirm: ''};
    show('Paying\u2026', 'busy');
    fetch('/pay/buy', {method: 'POST', credentials: 'same-origin', cache: 'no-store',
      headers: {'Content-Type': 'application/json', 'X-Shopfile-CSRF': st.csrf || ''},
      body: JSON.stringify({shop: shop, click: pending.click, confirm: pending.confirm})})
      .then(function (r) { return r.json().then(function (j) { return {s: r.status, j: j}; }, function () { return {s: r.status, j: {}}; }); },
            function () { return {s: 0, j: {error: 'The shop cannot be reached; click to try again.'}}; })
      .then(function (x) {
        busy = false; btn.disabled = false;
        var j = x.j;
        if (x.s === 200 && typeof j.receipt === 'string') {
          pending = null; st.owned = true;
          show('Paid \u2713', 'paid', j.existing ? 'Already yours: nothing was charged.' : 'Paid ' + j.price_sats + ' sats.');
          tell({type: 'paid', receipt: j.receipt, purchase: j.purchase, account: j.account, price_sats: j.price_sats, existing: !!j.existing});
          done();
          return;
        }
        if (x.s === 409 && j.need_confirm) {
          pending.confirm = j.confirm_token;
          show('Confirm ' + j.price_sats + ' sats', 'confirm', j.reason + '. Click again to pay anyway.');
          return;
        }
        if (x.s === 401) { st.paired = false; unpaired(); return; }
        if (x.s !== 0 && x.s < 500) pending = null; // a refusal: the next click is a new one
        show('Try again', 'error', j.error || 'Payment failed.');
      });
  }

  // Clickjacking guard: where the browser can tell (IntersectionObserver
  // v2), a click on a frame that was not fully visible for 500 ms opens
  // the shop's own window, which asks, instead of paying.
  var visibleSince = 0, tracks = false;
  if (mode === 'frame' && 'IntersectionObserver' in window) {
    try {
      new IntersectionObserver(function (es) {
        es.forEach(function (e) {
          if ('isVisible' in e) tracks = true;
          var vis = ('isVisible' in e) ? e.isVisible : e.isIntersecting;
          visibleSince = vis ? (visibleSince || performance.now()) : 0;
        });
      }, {threshold: [1], trackVisibility: true, delay: 100}).observe(btn);
    } catch (e) {}
  }
  function visibleEnough() { return !tracks || (visibleSince > 0 && performance.now() - visibleSince >= 500); }

  function openPopup() {
    popupClick = rnd();
    popup = window.open('/pay/frame/' + encodeURIComponent(shop) + '?m=popup&o=' + encodeURIComponent(parentOrigin),
      'shopfile-pay-' + popupClick, 'popup,width=440,height=560');
    if (!popup) show('Allow pop-ups', 'error');
  }

  btn.addEventListener('click', function (ev) {
    if (!ev.isTrusted || busy || !st) return;
    // In the frame without a session (never paired, or the browser keeps
    // the shop's cookie from third-party frames), or possibly hidden: the
    // shop's own window takes over the click.
    if (mode === 'frame' && (!st.paired || !visibleEnough())) { openPopup(); return; }
    if (mode === 'popup' && !st.paired) return;
    pay();
  });

  window.addEventListener('message', function (ev) {
    var d = ev.data;
    if (ev.origin !== location.origin || !d || d.v !== 1 || d.shop !== shop) return;
    if (mode === 'frame') {
      // Our own pay window: hand it the click, relay its receipt.
      if (!popup || ev.source !== popup) return;
      if (d.type === 'hello') popup.postMessage({v: 1, type: 'go', shop: shop, click: popupClick}, location.origin);
      else if (d.type === 'paid' && typeof d.receipt === 'string') {
        st.owned = true;
        show('Paid \u2713', 'paid');
        tell({type: 'paid', receipt: d.receipt, purchase: d.purchase, account: d.account, price_sats: d.price_sats, existing: !!d.existing});
      }
      return;
    }
    // Popup: only a shop-origin frame that opened us may hand over its
    // click (a reader's click on the shop's own button); then pay at once.
    if (d.type !== 'go' || ev.source !== window.opener || greeted || typeof d.click !== 'string') return;
    greeted = true; auto = true;
    pending = {click: d.click, confirm: ''};
    starting.then(function (ok) { if (ok && st.paired) pay(); });
  });

  var starting = load();
  if (mode === 'popup' && window.opener) {
    try { window.opener.postMessage({v: 1, type: 'hello', shop: shop}, location.origin); } catch (e) {}
  }
})();
