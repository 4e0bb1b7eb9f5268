// Header search suggestions: GET /api/quicksearch?q= as you type, shown under the box.
// Built with textContent only (no HTML from the server), so a repo name cannot inject markup.
(function () {
  "use strict";

  function section(panel, title, items) {
    if (!items.length) { return; }
    var head = document.createElement("div");
    head.className = "quicksearch-head";
    head.textContent = title;
    panel.appendChild(head);
    items.forEach(function (item) {
      var link = document.createElement("a");
      link.href = item.url;
      link.textContent = item.id;
      if (item.private) {
        var badge = document.createElement("span");
        badge.className = "badge badge-private";
        badge.textContent = "private";
        link.appendChild(document.createTextNode(" "));
        link.appendChild(badge);
      }
      panel.appendChild(link);
    });
  }

  function attach(input) {
    var panel = input.parentNode.querySelector(".quicksearch-panel");
    var timer = null;
    var latest = 0;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var text = input.value.trim();
      if (!text) { panel.hidden = true; return; }
      timer = setTimeout(function () {
        var ticket = ++latest;
        fetch(input.getAttribute("data-quicksearch") + "?q=" + encodeURIComponent(text), {
          credentials: "same-origin", headers: { "Accept": "application/json" }
        }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
          if (!data || ticket !== latest) { return; }  // a newer keystroke has its own answer
          panel.textContent = "";
          section(panel, "Models", data.models);
          section(panel, "Datasets", data.datasets);
          var all = document.createElement("a");
          all.className = "quicksearch-all";
          all.href = "/models?q=" + encodeURIComponent(text);
          all.textContent = "Search all models for \u201c" + text + "\u201d";
          panel.appendChild(all);
          panel.hidden = false;
        }).catch(function () { panel.hidden = true; });
      }, 150);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { panel.hidden = true; }
    });
    document.addEventListener("click", function (event) {
      if (!input.parentNode.contains(event.target)) { panel.hidden = true; }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("input[data-quicksearch]").forEach(attach);
  });
})();
