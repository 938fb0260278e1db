// Khomat web interface: the only script, loaded from the server itself
// (Content-Security-Policy: script-src 'self'). Every page works without
// it; it adds upload progress (refusing a file over the server's limit
// before sending it), per-file titles for bulk uploads, and confirmation
// before destructive actions.
(function () {
  "use strict";

  // Ask before a destructive action (forms with data-confirm).
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    if (f.dataset && f.dataset.confirm && !window.confirm(f.dataset.confirm)) {
      ev.preventDefault();
    }
  }, true);

  function setup() {
    var form = document.getElementById("upload-form");
    if (!form) { return; }
    var fileInput = form.querySelector("input[type=file]");
    var titles = document.getElementById("bulk-titles");
    var title = document.getElementById("title");

    // One title input per chosen file when several are chosen.
    fileInput.addEventListener("change", function () {
      if (!titles) { return; }
      while (titles.firstChild) { titles.removeChild(titles.firstChild); }
      var files = fileInput.files;
      if (files.length < 2) {
        titles.hidden = true;
        if (title) { title.required = true; }
        return;
      }
      titles.hidden = false;
      if (title) { title.required = false; }
      for (var i = 0; i < files.length; i++) {
        var id = "title_" + i;
        var wrap = document.createElement("div");
        wrap.className = "field";
        var label = document.createElement("label");
        label.htmlFor = id;
        label.textContent = titles.dataset.label.replace("%s", files[i].name);
        var input = document.createElement("input");
        input.type = "text";
        input.id = id;
        input.name = id;
        input.maxLength = 1000;
        input.value = files[i].name.replace(/\.[^.]+$/, "");
        wrap.appendChild(label);
        wrap.appendChild(input);
        titles.appendChild(wrap);
      }
    });

    // Send with XMLHttpRequest to show progress. The fields go first and
    // the files last, so the server judges the metadata before storing a
    // byte; the answer replaces the page's main part, or, after a
    // redirect, the browser goes to the new document.
    form.addEventListener("submit", function (ev) {
      if (!window.FormData || !window.XMLHttpRequest) { return; }
      ev.preventDefault();
      var data = new FormData();
      var files = [];
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || el.disabled) { return; }
        if (el.type === "file") {
          Array.prototype.forEach.call(el.files, function (f) { files.push([el.name, f]); });
          return;
        }
        if ((el.type === "checkbox" || el.type === "radio") && !el.checked) { return; }
        if (el.tagName === "SELECT" && el.multiple) {
          Array.prototype.forEach.call(el.selectedOptions, function (o) { data.append(el.name, o.value); });
          return;
        }
        data.append(el.name, el.value);
      });
      files.forEach(function (p) { data.append(p[0], p[1], p[1].name); });
      if (files.length === 0) { data.append("file", new Blob([]), ""); }

      var box = document.getElementById(form.dataset.progress);
      var bar = box.querySelector("progress");
      var text = box.querySelector(".progress-text");
      var button = document.getElementById("upload-submit");
      box.hidden = false;
      // A file over the server's limit is refused here: the server would
      // answer before reading it, and the browser could see only a cut
      // connection.
      var total = 0;
      files.forEach(function (p) { total += p[1].size; });
      var max = parseInt(form.dataset.maxBytes || "0", 10);
      if (max > 0 && total > max) {
        bar.value = 0;
        text.textContent = "⚠ " + form.dataset.tooLarge;
        return;
      }
      button.disabled = true;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          var pct = Math.floor(e.loaded * 100 / e.total);
          bar.value = pct;
          text.textContent = pct + "% (" + (e.loaded / 1048576).toFixed(1) + " / " + (e.total / 1048576).toFixed(1) + " MiB)";
        }
      });
      xhr.addEventListener("load", function () {
        var target = xhr.responseURL || "";
        if (xhr.status === 200 && target.indexOf("/documents/") >= 0) {
          window.location.assign(target);
          return;
        }
        var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var main = doc.getElementById("main");
        if (main) {
          document.getElementById("main").replaceWith(main);
          window.scrollTo(0, 0);
          setup();
        } else {
          button.disabled = false;
        }
      });
      xhr.addEventListener("error", function () {
        button.disabled = false;
        text.textContent = "✗";
      });
      xhr.send(data);
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
