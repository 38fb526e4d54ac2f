/* shopfile pay button: https://HOST/button.js
 *
 * <script src="https://HOST/button.js" data-shop="SHOP" async></script>
 *
 * Renders <button data-shopfile-pay="SHOP"> showing the live price, and
 * lays the shop's own pay frame (an iframe from HOST) exactly over it: the
 * click that pays happens inside the shop's origin, where this page cannot
 * forge it, read the reader's session, or change the amount. When the
 * reader has paid, dispatches on document:
 *
 *   new CustomEvent('shopfile:paid', {detail: {shop, receipt, purchase, account, price_sats, existing}})
 *
 * Verify detail.receipt on your server with the shop's host key
 * (HOST/.well-known/shopfile.json) before you unlock anything.
 * No cookies, no storage, no network besides HOST.
 */
(function () {
  'use strict';
  var me = document.currentScript;
  if (!me || !me.src) return;
  var shopOrigin = new URL(me.src, location.href).origin;
  var W = 240, H = 48;

  function frameURL(shop, popup) {
    return shopOrigin + '/pay/frame/' + encodeURIComponent(shop) + '?' + (popup ? 'm=popup&' : '') +
      'o=' + encodeURIComponent(location.origin);
  }

  function mount(btn, shop) {
    if (btn.getAttribute('data-shopfile-mounted')) return;
    btn.setAttribute('data-shopfile-mounted', '1');
    btn.setAttribute('data-shopfile-pay', shop);
    btn.type = 'button';
    if (!btn.textContent.trim()) btn.textContent = 'Pay with shopfile';
    var wrap = document.createElement('span');
    wrap.className = 'shopfile-pay';
    var ws = wrap.style;
    ws.position = 'relative'; ws.display = 'inline-block'; ws.verticalAlign = 'middle';
    ws.width = W + 'px'; ws.height = H + 'px';
    var bs = btn.style;
    bs.width = '100%'; bs.height = '100%'; bs.boxSizing = 'border-box'; bs.cursor = 'pointer';
    bs.font = '600 15px/1 system-ui, sans-serif'; bs.borderRadius = '6px';
    btn.parentNode.insertBefore(wrap, btn);
    wrap.appendChild(btn);

    var f = document.createElement('iframe');
    f.src = frameURL(shop, false);
    f.title = 'Pay with shopfile';
    f.setAttribute('scrolling', 'no');
    var fs = f.style;
    fs.position = 'absolute'; fs.left = '0'; fs.top = '0'; fs.width = '100%'; fs.height = '100%';
    fs.border = '0'; fs.visibility = 'hidden'; fs.colorScheme = 'normal';
    wrap.appendChild(f);

    var popup = null, latest = null, live = false;
    function showState() {
      btn.textContent = String(latest.label || '');
      btn.setAttribute('data-state', String(latest.state || ''));
    }
    window.addEventListener('message', function (ev) {
      var d = ev.data;
      if (ev.origin !== shopOrigin || !d || d.v !== 1 || d.shop !== shop) return;
      if (ev.source !== f.contentWindow && !(popup && ev.source === popup)) return;
      if (d.type === 'state') {
        latest = d;
        // The pay window speaks for itself at once: it is how the button
        // works when the frame failed to load.
        if (live || ev.source !== f.contentWindow) { showState(); return; }
        if (fs.visibility === 'visible') return; // drawn soon: showState then
        // The browser hit-tests a cross-site frame from what it last drew,
        // so a click right after the frame appears can still land on the
        // button beneath. The button says what the frame says (and its
        // data-state turns ready) only once the frame has been drawn.
        fs.visibility = 'visible';
        requestAnimationFrame(function () {
          requestAnimationFrame(function () { live = true; showState(); });
        });
      } else if (d.type === 'paid' && typeof d.receipt === 'string') {
        btn.textContent = 'Paid \u2713';
        btn.setAttribute('data-state', 'paid');
        document.dispatchEvent(new CustomEvent('shopfile:paid', {detail: {
          shop: shop, receipt: d.receipt, purchase: d.purchase, account: d.account,
          price_sats: d.price_sats, existing: !!d.existing}}));
      }
    });
    // Reached only when the frame is not over the button (it failed to
    // load, or a script called click()): the shop's own window asks.
    btn.addEventListener('click', function () {
      popup = window.open(frameURL(shop, true), 'shopfile-pay', 'popup,width=440,height=560');
    });
    fetch(shopOrigin + '/s/' + encodeURIComponent(shop) + '.json', {credentials: 'omit'})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (j && typeof j.price_sats === 'number' && !btn.getAttribute('data-state')) {
          btn.textContent = 'Pay ' + j.price_sats + ' sats';
        }
      }).catch(function () {});
  }

  var shop = me.getAttribute('data-shop');
  if (shop) {
    var b = document.createElement('button');
    me.parentNode.insertBefore(b, me.nextSibling);
    mount(b, shop);
  }
  // Buttons the page wrote itself: <button data-shopfile-pay="SHOP">.
  var own = document.querySelectorAll('button[data-shopfile-pay]:not([data-shopfile-mounted])');
  for (var i = 0; i < own.length; i++) mount(own[i], own[i].getAttribute('data-shopfile-pay'));
})();
