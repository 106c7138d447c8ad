// No silent button: when an htmx request fails, say so where the person is looking.
//
// htmx swaps nothing on a 4xx/5xx (base.html's responseHandling) and on a dropped
// connection, so without this a pressed button would simply do nothing. Our own error
// answers carry X-Timebank-Error and a short message in the person's language
// (errors/_message.html); anything else (a proxy's 502, no connection) gets the words
// base.html put on #request-error-texts. The form is never replaced, so what was typed
// stays. A failed link (a 404 while navigating) loads the error page itself instead.
(function () {
  "use strict";

  function texts() {
    return document.getElementById("request-error-texts") || document.body;
  }

  function say(elt, lines) {
    var anchor = (elt && elt.closest && (elt.closest("form") || elt)) || null;
    if (!anchor || !document.body.contains(anchor)) {
      anchor = document.getElementById("content");
    }
    var box = null;
    if (anchor.nextElementSibling && anchor.nextElementSibling.classList.contains("request-error")) {
      box = anchor.nextElementSibling;
    } else {
      box = document.createElement("div");
      box.className = "request-error flash flash-error";
      box.setAttribute("role", "alert");
      box.tabIndex = -1;
      if (anchor.id === "content") {
        anchor.insertBefore(box, anchor.firstChild);
      } else {
        anchor.parentNode.insertBefore(box, anchor.nextSibling);
      }
    }
    box.textContent = "";
    lines.forEach(function (line) {
      if (!line) {
        return;
      }
      var p = document.createElement("p");
      if (typeof line === "string") {
        p.textContent = line; // text only: nothing from a response runs as markup
      } else {
        var a = document.createElement("a");
        a.href = line.href;
        a.textContent = line.text;
        a.target = "_blank";
        a.rel = "noopener";
        p.appendChild(a);
      }
      box.appendChild(p);
    });
    box.focus({ preventScroll: true });
    box.scrollIntoView({ block: "nearest" });
  }

  function ourMessage(xhr) {
    if (!xhr || !xhr.getResponseHeader("X-Timebank-Error")) {
      return null;
    }
    var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    var found = doc.getElementById("error-message");
    if (!found) {
      return null;
    }
    return Array.prototype.map.call(found.querySelectorAll("p"), function (p) {
      var a = p.querySelector("a");
      if (a) {
        // Only a link to a page of this site, as the browser itself resolves it.
        var url = new URL(a.getAttribute("href") || "", window.location.href);
        if (url.origin === window.location.origin) {
          return { href: url.pathname + url.search, text: a.textContent.trim() };
        }
      }
      return p.textContent.trim();
    });
  }

  // A form that expired (the session ended, or the page was open for days): fetch a fresh
  // token so the same button works when pressed again, with the typed text still there.
  function refreshToken() {
    var url = texts().getAttribute("data-token-url");
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data || !data.token) {
          return;
        }
        document.body.setAttribute("hx-headers", JSON.stringify({ "X-CSRFToken": data.token }));
        // Forms with a prefix name theirs "<prefix>-csrf_token": every one is renewed.
        document.querySelectorAll("input[name$=csrf_token]").forEach(function (input) {
          input.value = data.token;
        });
      })
      .catch(function () { /* offline: the request that follows says so */ });
  }

  // Pressed again after "this form has expired": first a fresh token, then the request,
  // with the same fields as typed.
  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail && event.detail.elt;
    var form = elt && elt.closest ? elt.closest("form") : null;
    if (!form || !form.hasAttribute("data-token-stale")) {
      return;
    }
    event.preventDefault();
    form.removeAttribute("data-token-stale");
    refreshToken().then(function () { event.detail.issueRequest(true); });
  });

  document.addEventListener("htmx:responseError", function (event) {
    var detail = event.detail || {};
    var xhr = detail.xhr;
    var config = detail.requestConfig || {};
    var kind = xhr ? xhr.getResponseHeader("X-Timebank-Error") : null;
    if (detail.boosted && (config.verb || "get").toLowerCase() === "get") {
      // A link, not a form: show the error page as it would be without JavaScript.
      var path = detail.pathInfo || {};
      window.location.assign(path.finalRequestPath || path.requestPath || config.path);
      return;
    }
    var lines = ourMessage(xhr);
    if (!lines) {
      var failed = texts().getAttribute("data-failed") || "";
      lines = [failed.replace("%(code)s", String(xhr ? xhr.status : ""))];
    }
    if (kind === "form-expired" || kind === "login") {
      // Fetch a fresh token when the button is pressed again (after logging in anew in
      // another tab the session, and so the token, has changed once more).
      var form = detail.elt && detail.elt.closest ? detail.elt.closest("form") : null;
      if (form) {
        form.setAttribute("data-token-stale", "");
      }
    }
    say(detail.elt, lines);
  });

  function offline(event) {
    var detail = event.detail || {};
    say(detail.elt, [texts().getAttribute("data-offline") || ""]);
  }

  document.addEventListener("htmx:sendError", offline);
  document.addEventListener("htmx:timeout", offline);

  // A message stays until the next try of the same form succeeds.
  document.addEventListener("htmx:afterRequest", function (event) {
    var detail = event.detail || {};
    if (!detail.successful || !detail.elt || !detail.elt.closest) {
      return;
    }
    var form = detail.elt.closest("form") || detail.elt;
    var next = form.nextElementSibling;
    if (next && next.classList && next.classList.contains("request-error")) {
      next.remove();
    }
  });
})();
