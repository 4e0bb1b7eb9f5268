// Small progressive enhancements; every page works without them. Loaded as a file because
// the Content-Security-Policy allows no inline scripts.
(function () {
  "use strict";

  function copyText(text, button) {
    function done() {
      var label = button.innerHTML;
      button.textContent = "Copied";
      button.classList.add("copied");
      setTimeout(function () { button.innerHTML = label; button.classList.remove("copied"); }, 1500);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text); done(); });
    } else {
      fallbackCopy(text);
      done();
    }
  }

  // Plain-HTTP hubs are not a secure context, where navigator.clipboard is missing.
  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) { /* the text stays selectable */ }
    document.body.removeChild(area);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy], [data-copy-target]");
    if (button) {
      var text = button.getAttribute("data-copy");
      if (text === null) {
        var target = document.getElementById(button.getAttribute("data-copy-target"));
        text = target ? (target.value !== undefined && target.tagName === "INPUT" ? target.value : target.textContent) : "";
      }
      copyText(text.trim(), button);
      return;
    }
    var confirmer = event.target.closest("[data-confirm]");
    if (confirmer && !window.confirm(confirmer.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });

  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-select-on-focus]")) {
      event.target.select();
    }
  });

  // Close an open <details> menu when clicking elsewhere.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.menu[open], details.dropdown[open]").forEach(function (d) {
      if (!d.contains(event.target)) { d.removeAttribute("open"); }
    });
  });
})();
