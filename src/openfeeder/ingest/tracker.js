// openfeeder tracker: runs the window.ldfdr command queue, keeps the visitor id in the _lfa
// cookie (mirrored to localStorage) or sends a cookieless ".NC" id, and sends each event to
// /tr as base64 JSON (docs/tracking.md has the wire format). Hand-written ES5, no build step:
// the server only drops comments and blanks, and puts the account's settings in place of
// the {} after CONFIG at the very end.
(function (w, d, n, C) {
  var L = w.ldfdr || {}, q = L._q || [], k;
  // A page that loads the script twice keeps the first tracker.
  if (L.v) return;
  // Settings the page gives itself (ldfdr.cfg = {...} after the snippet) win over ours.
  for (k in L.cfg) C[k] = L.cfg[k];
  var AGE = 63072000, CID = /^LF1\.1\.[0-9a-f]{16}\.\d+$/, id, last, dom = '', ok;

  function hex() {
    var a = crypto.getRandomValues(new Uint8Array(8)), s = '', i = 0;
    for (; i < 8; i++) s += (a[i] + 256).toString(16).slice(1);
    return s;
  }
  function dec(v) {
    try { return decodeURIComponent(v); } catch (e) { return v; }
  }
  function get(k) {
    var m = d.cookie.match('(?:^|; )' + k + '=([^;]*)');
    return m ? dec(m[1]) : '';
  }
  function set(k, v, age) {
    d.cookie = k + '=' + encodeURIComponent(v) + ';path=/;max-age=' + age + ';SameSite=Lax' + dom;
  }
  function mem(k, v) {
    try {
      var s = localStorage;
      return v === 0 ? s.removeItem(k) : v ? s.setItem(k, v) : s.getItem(k);
    } catch (e) {}
  }
  // The widest domain the browser lets us set (example.com for www.example.com), so one id
  // covers every subdomain; host-only where none is allowed (localhost, IP addresses). Only
  // probed once cookies may be used: before consent not even a test cookie is written.
  function widest() {
    var h = location.hostname.split('.'), i = h.length - 2, t = '_lfa_test_cookie_stored';
    for (; i >= 0; i--) {
      dom = ';domain=' + h.slice(i).join('.');
      set(t, 1, 9);
      if (get(t)) return set(t, '', 0);
    }
    dom = '';
  }
  // The visitor id: cookie first, then the localStorage copy (cookies cleared), else new.
  // Without cookies (blocked, or no consent yet in consent mode) a fresh ".NC" id per page.
  function fresh() {
    return 'LF1.1.' + hex() + '.' + Date.now();
  }
  function ident() {
    var v = get('_lfa');
    if (ok && n.cookieEnabled) {
      if (!CID.test(v) && !(mem('_lfa_expiry') > Date.now() && CID.test(v = mem('_lfa')))) v = fresh();
      set('_lfa', v, AGE);
      if (get('_lfa') == v) {
        mem('_lfa', v);
        mem('_lfa_expiry', Date.now() + AGE * 1e3);
        return id = v;
      }
    }
    id = fresh() + '.NC';
  }
  function send(type, props, url, title, ref) {
    var e = {
      event: type,
      context: {
        library: {name: 'openfeeder', version: '1'},
        pageUrl: url || location.href,
        pageTitle: title || d.title,
        referrer: ref == null ? d.referrer : ref
      },
      clientEventId: hex(),
      clientTimestamp: new Date().toISOString(),
      clientTimezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
      scriptId: C.scriptId,
      cookiesEnabled: !/NC$/.test(id),
      anonymizeIp: !!C.anonymizeIp,
      lfClientId: id,
      gaTrackingIds: [],
      gaClientIds: [],
      foreignCookies: [],
      properties: props || {}
    }, u = C.endpoint + '?sid=' + C.scriptId, b;
    // Other tools' ids only travel with a cookie id: a visitor without one gave no consent.
    if (e.cookiesEnabled) d.cookie.split('; ').forEach(function (c) {
      var i = c.indexOf('='), k = c.slice(0, i), v = dec(c.slice(i + 1));
      if (k == '_ga') e.gaClientIds.push(v.split('.').slice(2).join('.'));
      else if (!k.indexOf('_ga_')) e.gaTrackingIds.push('G-' + k.slice(4));
      else if (C.adobeCookies && !k.indexOf('AMCV_')) e.foreignCookies.push({type: 'AMCV', value: v});
    });
    b = btoa(unescape(encodeURIComponent(JSON.stringify(e))));
    // A beacon survives the page unloading (form posts, downloads); the pixel is the fallback.
    if (!(n.sendBeacon && n.sendBeacon(u, b))) new Image().src = u + '&data=' + encodeURIComponent(b);
  }
  function pageview(o) {
    o = o || {};
    send('tracking-event', {}, o.pageUrl, o.pageTitle, last);
    last = o.pageUrl || location.href;
  }
  // SPA navigation: after a History API change, once the app had a moment to set the title.
  function moved() {
    setTimeout(function () { if (location.href != last) pageview(); }, 100);
  }
  var api = {
    pageview: pageview,
    identify: function (p) { send('identify', p); },
    track: function (type, p) { send(type, p); },
    acceptCookie: function () {
      ok = 1;
      widest();
      set('_lfa_consent', 'true', AGE);
      ident();
    },
    rejectCookie: function () {
      ok = 0;
      ['_lfa', '_lfa_consent', '_lfa_expiry'].forEach(function (k) {
        set(k, '', 0);
        mem(k, 0);
      });
      ident();
    },
    getClientId: function () { return id; }
  };
  function run(c) {
    if (api[c[0]]) api[c[0]].apply(0, c.slice(1));
  }
  L = w.ldfdr = function () { run([].slice.call(arguments)); };
  for (k in api) L[k] = api[k];
  L.v = 1;
  L.cfg = C;
  ok = !C.consentManagementEnabled || get('_lfa_consent') == 'true';
  if (ok) widest();
  ident();
  for (k = 0; k < q.length; k++) run(q[k]);
  d.addEventListener('submit', function (e) {
    var f = e.target, a = function (k) { return f.getAttribute(k) || ''; };
    send('form-submit', {formId: a('id'), formName: a('name'), formAction: a('action')});
  }, true);
  d.addEventListener('click', function (e) {
    var a = e.target.closest && e.target.closest('a[href]');
    if (a && (a.hasAttribute('download') || /\.(pdf|docx?|xlsx?|pptx?|csv|txt|zip|rar|7z|gz|dmg|exe|msi|apk|mp[34])$/i.test(a.pathname)))
      send('file-download', {url: a.href});
  }, true);
  if (C.autoTrack !== false) {
    ['pushState', 'replaceState'].forEach(function (m) {
      var f = history[m];
      history[m] = function () {
        var r = f.apply(this, arguments);
        moved();
        return r;
      };
    });
    w.addEventListener('popstate', moved);
    pageview();
  }
})(window, document, navigator, /*CONFIG*/{});
