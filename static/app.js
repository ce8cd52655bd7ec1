// Conversation Review: the few things HTML cannot do on its own.
// Audio and transcript sync, keyboard shortcuts, the delete dialog, copy buttons, toasts.
// htmx is configured in base.html's htmx-config meta tag (CSP-safe, errors swapped).
(function () {
  "use strict";

  // Times are rendered in the viewer's zone: tell the server which one that is.
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && document.cookie.indexOf("tz=" + encodeURIComponent(zone)) === -1) {
    document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; SameSite=Lax";
  }

  function toast(text, kind) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var item = document.createElement("div");
    item.className = "toast " + (kind || "");
    item.setAttribute("role", "status");
    item.textContent = text;
    box.appendChild(item);
  }

  // Toasts fade after a while; the newest stays readable.
  setInterval(function () {
    var items = document.querySelectorAll("#toasts .toast");
    if (items.length > 0 && !items[0].dataset.seen) items[0].dataset.seen = Date.now();
    if (items.length > 0 && Date.now() - items[0].dataset.seen > 8000) items[0].remove();
  }, 1000);

  // Dialogs fetched by htmx open as modals with focus on Cancel; closing removes them.
  function openDialogs(root) {
    var dialogs = root.matches && root.matches("dialog[data-modal]") ? [root] : root.querySelectorAll("dialog[data-modal]");
    Array.prototype.forEach.call(dialogs, function (dialog) {
      if (!dialog.open) dialog.showModal();
      var cancel = dialog.querySelector("[data-close]");
      if (cancel) cancel.focus();
      dialog.addEventListener("close", function () { dialog.remove(); });
    });
  }

  document.addEventListener("htmx:load", function (event) { openDialogs(event.detail.elt); });

  document.addEventListener("htmx:sendError", function () {
    toast("The dashboard could not be reached. Check your connection and try again.", "error");
  });

  document.addEventListener("click", function (event) {
    var close = event.target.closest("dialog [data-close]");
    if (close) {
      event.preventDefault();
      close.closest("dialog").close();
      return;
    }
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var source = document.querySelector(copy.dataset.copy);
      var text = source ? (source.value || source.textContent).trim() : "";
      navigator.clipboard.writeText(text).then(function () { toast("Copied.", "success"); });
      return;
    }
    var seek = event.target.closest("[data-seek]");
    if (seek && player) {
      player.currentTime = parseFloat(seek.dataset.seek);
      player.play();
    }
  });

  // Audio and transcript.
  var player = document.getElementById("player");
  var turns = Array.prototype.slice.call(document.querySelectorAll("#turns .turn[data-at]"));
  var starts = turns.map(function (turn) { return parseFloat(turn.dataset.at); });
  var current = -1;

  // The last turn that started at or before `time` (binary search: long transcripts stay fast).
  function turnAt(time) {
    var low = 0, high = starts.length - 1, found = -1;
    while (low <= high) {
      var mid = (low + high) >> 1;
      if (starts[mid] <= time) { found = mid; low = mid + 1; } else { high = mid - 1; }
    }
    return found;
  }

  function highlight(index) {
    if (index === current) return;
    if (current >= 0) turns[current].classList.remove("current");
    current = index;
    if (current >= 0) {
      turns[current].classList.add("current");
      turns[current].scrollIntoView({ block: "nearest" });
    }
  }

  if (player) {
    player.addEventListener("timeupdate", function () { highlight(turnAt(player.currentTime)); });
    var speed = document.querySelector("[data-speed]");
    if (speed) speed.addEventListener("change", function () { player.playbackRate = parseFloat(speed.value); });
  }

  function goToTurn(index) {
    if (index < 0 || index >= turns.length) return;
    if (player) {
      player.currentTime = starts[index];
    }
    highlight(index);
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("input, textarea, select, [contenteditable], dialog")) return;
    // Space already presses a focused button or the player's own controls.
    if (event.key === " " && event.target.closest("a, button:not([data-seek]), audio")) return;
    var handled = true;
    switch (event.key) {
      case " ":
        if (!player) return;
        if (player.paused) player.play(); else player.pause();
        break;
      case "ArrowLeft":
        if (!player) return;
        player.currentTime = Math.max(0, player.currentTime - 5);
        break;
      case "ArrowRight":
        if (!player) return;
        player.currentTime = player.currentTime + 5;
        break;
      case "j":
        goToTurn(current + 1);
        break;
      case "k":
        goToTurn(Math.max(0, current - 1));
        break;
      default:
        handled = false;
    }
    if (handled) event.preventDefault();
  });
})();
