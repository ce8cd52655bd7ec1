// Conversation Review: the few things HTML cannot do on its own.
// Audio and transcript sync, keyboard shortcuts, the delete dialog, copy buttons, toasts.
// Bulk jobs run on the server; their page follows them with htmx polling (_job.html).
// htmx is configured in base.html's htmx-config meta tag (CSP-safe, errors swapped).
(function () {
  "use strict";

  // Times are rendered in the viewer's zone: tell the server which one that is. Only the next
  // request reads the cookie, so this waits until the page is up: the first Intl call in a
  // fresh tab loads ICU's locale data, 12-15 ms that would otherwise delay DOMContentLoaded
  // (docs/performance.md, P6).
  function rememberZone() {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("tz=" + encodeURIComponent(zone)) === -1) {
      // Over https the cookie is Secure, like the dashboard's own.
      var secure = location.protocol === "https:" ? "; Secure" : "";
      document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; SameSite=Lax" + secure;
    }
  }
  if (window.requestIdleCallback) requestIdleCallback(rememberZone, { timeout: 1000 });
  else setTimeout(rememberZone, 0);

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

  // A search result links to its turn: "#t=83" (seconds into the call), "#t=83&turn=12"
  // when two turns start at that second, "#turn=12" for a turn without a time. Mark that
  // turn, bring it into view and set the player there.
  function openAtHash() {
    var match = /^#(?:t=(\d+(?:\.\d+)?))?&?(?:turn=(\d+))?$/.exec(window.location.hash);
    if (!match || !(match[1] || match[2])) return;
    var time = match[1] ? parseFloat(match[1]) : null;
    var target = match[2]
      ? document.querySelectorAll("#turns .turn")[parseInt(match[2], 10) - 1]
      : turns[turnAt(time + 0.0005)];
    if (!target) return;
    var previous = document.querySelector("#turns .turn.hit");
    if (previous) previous.classList.remove("hit");
    target.classList.add("hit");
    target.setAttribute("tabindex", "-1");
    target.scrollIntoView({ block: "center" });
    target.focus({ preventScroll: true });
    if (player && time !== null) {
      // Before its metadata has loaded this is where playback will start.
      player.currentTime = time;
      highlight(turns.indexOf(target));
    }
  }
  openAtHash();
  window.addEventListener("hashchange", openAtHash);

  // Review panel: 1/2/3 set the status and save, n saves and opens the next unreviewed one.
  function reviewKey(key) {
    var form = document.querySelector("[data-review-form]");
    if (!form) return false;
    var radio = form.querySelector('input[name=status][data-key="' + key + '"]');
    if (radio) {
      radio.checked = true;
      form.requestSubmit();
      return true;
    }
    if (key === "n") {
      // A click, not requestSubmit(button): htmx sends the value of the button it saw clicked.
      form.querySelector("[data-save-next]").click();
      return true;
    }
    return false;
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
        handled = reviewKey(event.key);
    }
    if (handled) event.preventDefault();
  });
  // Tags: suggest the team's tags for the one being typed after the last comma.
  document.addEventListener("input", function (event) {
    var input = event.target.closest("input[data-tags]");
    if (!input) return;
    var list = document.getElementById(input.getAttribute("list"));
    if (!list.dataset.tags) {
      list.dataset.tags = JSON.stringify(Array.prototype.map.call(list.options, function (o) { return o.value; }));
    }
    var head = input.value.slice(0, input.value.lastIndexOf(",") + 1);
    var prefix = head ? head.replace(/\s*$/, " ") : "";
    list.replaceChildren.apply(list, JSON.parse(list.dataset.tags).map(function (tag) {
      var option = document.createElement("option");
      option.value = prefix + tag;
      return option;
    }));
  });

  // Selection on the list: "select all on this page" and a count in the bulk bar.
  function updateSelection() {
    var boxes = document.querySelectorAll('input[name=ids][form=bulk]');
    var checked = document.querySelectorAll('input[name=ids][form=bulk]:checked').length;
    var count = document.querySelector("#bulk .selected-count");
    var whole = document.querySelector("[data-select-filter]:checked");
    if (count) {
      // "All matching this filter" acts on the filter, whatever rows are ticked.
      count.textContent = whole ? "All " + whole.dataset.count + " matching this filter selected"
        : checked ? checked + " selected" : "Select conversations to act on several at once.";
    }
    var all = document.querySelector("[data-select-all]");
    if (all) all.checked = boxes.length > 0 && checked === boxes.length;
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-select-all]")) {
      document.querySelectorAll('input[name=ids][form=bulk]').forEach(function (box) {
        box.checked = event.target.checked;
      });
    }
    if (event.target.matches("[data-select-all], [data-select-filter], input[name=ids][form=bulk]")) updateSelection();
  });
  document.addEventListener("htmx:afterSettle", updateSelection);

  // Export: the download runs in the background of the browser; the page shows its progress.
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-export]");
    if (!link) return;
    var token = Math.random().toString(36).slice(2) + Date.now().toString(36);
    var url = new URL(link.href);
    url.searchParams.set("progress", token);
    link.href = url.toString();
    var output = document.getElementById("export-progress");
    var poll = setInterval(async function () {
      var response = await fetch(output.dataset.url + "?token=" + token);
      if (!response.ok) return;
      var progress = await response.json();
      output.textContent = progress.done
        ? (progress.problem ? "Export incomplete: " + progress.problem : "Export finished: " + progress.rows + " conversations.")
        : "Exporting… " + progress.rows + " conversations so far.";
      if (progress.done) clearInterval(poll);
    }, 1000);
  });
})();

// Scorecard panel: the weighted total as values are picked, and scoring by keyboard.
// Tab moves between criteria (each a radio group), arrows pick within one; p, f, x (N/A) and
// 1-5 pick and move on to the next criterion, o opens the criterion's note. Inside the
// criteria these keys are the scorecard's, never the page's own shortcuts (digits set the
// review status, n saves, j/k move between turns, space plays).
(function () {
  var PICK = { p: "pass", f: "fail", x: "na", 1: "1", 2: "2", 3: "3", 4: "4", 5: "5" };

  function points(kind, value) {
    if (value === "na") return null;
    if (kind === "scale") return (parseInt(value, 10) - 1) / 4;
    return value === "pass" ? 1 : 0;
  }

  // The same arithmetic as scorecards.total: auto-fail makes it 0, N/A weighs nothing.
  function showTotal(form) {
    var output = form.querySelector("[data-score-total]");
    if (!output) return;
    var weights = 0, sum = 0, answered = 0, failed = false;
    form.querySelectorAll("[data-criterion]").forEach(function (criterion) {
      var picked = criterion.querySelector("input[type=radio]:checked");
      if (!picked) return;
      answered += 1;
      var kind = criterion.dataset.kind;
      if (criterion.hasAttribute("data-auto-fail") && picked.value === (kind === "scale" ? "1" : "fail")) failed = true;
      var share = points(kind, picked.value);
      if (share === null) return;
      var weight = parseInt(criterion.dataset.weight, 10);
      weights += weight;
      sum += weight * share;
    });
    var passMark = parseFloat(form.dataset.passMark);
    if (!answered) output.textContent = "–";
    else if (failed) output.textContent = "0 % · fail (auto-fail)";
    else if (!weights) output.textContent = "no total (all N/A)";
    else {
      var percent = Math.floor(sum / weights * 1000 + 0.5) / 10;
      output.textContent = percent + " % · " + (percent >= passMark ? "pass" : "fail");
    }
  }

  function showTotals(root) {
    var forms = root.matches && root.matches("[data-score-form]") ? [root] : root.querySelectorAll("[data-score-form]");
    Array.prototype.forEach.call(forms, showTotal);
  }
  showTotals(document);
  document.addEventListener("htmx:load", function (event) { showTotals(event.detail.elt); });
  document.addEventListener("change", function (event) {
    var form = event.target.closest("[data-score-form]");
    if (form) showTotal(form);
  });

  // The radio a Tab would land on in a criterion: its picked value, else its first.
  function stopOf(criterion) {
    return criterion.querySelector("input[type=radio]:checked") || criterion.querySelector("input[type=radio]");
  }

  function moveOn(criterion) {
    var all = Array.prototype.slice.call(criterion.closest("form").querySelectorAll("[data-criterion]"));
    var next = all[all.indexOf(criterion) + 1];
    if (next) stopOf(next).focus();
    else criterion.closest("form").querySelector("button[type=submit]").focus();
  }

  // Captured at the document, before the page's own shortcuts (which listen as it bubbles).
  document.addEventListener("keydown", function (event) {
    var criterion = event.target.closest("[data-score-form] [data-criterion]");
    if (!criterion || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest("textarea")) return;
    event.stopPropagation();
    var key = event.key.toLowerCase();
    if (key === "o") {
      var note = criterion.querySelector("details");
      note.open = true;
      note.querySelector("textarea").focus();
      event.preventDefault();
      return;
    }
    if (!Object.prototype.hasOwnProperty.call(PICK, key)) return;
    var radio = criterion.querySelector('input[type=radio][value="' + PICK[key] + '"]');
    if (!radio) return;
    event.preventDefault();
    radio.checked = true;
    radio.dispatchEvent(new Event("change", { bubbles: true }));
    moveOn(criterion);
  }, true);

  // Comments: "Comment on this turn" picks the turn in the thread's form and puts the cursor
  // in it, instead of reloading the page with ?turn= (the link's way without JavaScript).
  document.addEventListener("click", function (event) {
    var offer = event.target.closest("[data-comment-turn]");
    var form = document.getElementById("comment-form");
    if (!offer || !form) return;
    event.preventDefault();
    form.querySelector("select[name=turn]").value = offer.dataset.commentTurn;
    form.scrollIntoView({ block: "nearest" });
    form.querySelector("textarea[name=body]").focus();
  });
})();
