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
    if (speed) {
      // The chosen speed holds for every call, in this browser. The default rate too: loading
      // the recording again (a retry) resets the rate to it.
      var setSpeed = function () {
        player.defaultPlaybackRate = player.playbackRate = parseFloat(speed.value) || 1;
      };
      var saved = storedSpeed();
      var offered = Array.prototype.some.call(speed.options, function (option) { return option.value === saved; });
      if (offered) speed.value = saved;
      setSpeed();
      speed.addEventListener("change", function () {
        setSpeed();
        try { localStorage.setItem("playback-speed", speed.value); } catch (error) { /* storage off: this page only */ }
      });
    }
  }

  // The playback speed chosen last, kept in this browser ("Speed" on a call's page).
  function storedSpeed() {
    try { return localStorage.getItem("playback-speed"); } catch (error) { return null; }
  }

  function goToTurn(index) {
    if (index < 0 || index >= turns.length) return;
    if (player) {
      player.currentTime = starts[index];
    }
    highlight(index);
    // The transcript's tab stop follows, and so does the focus when it is in the transcript.
    activateTurn(turns[index], transcript && transcript.contains(document.activeElement));
  }

  // The transcript is one tab stop (a roving tabindex): the active turn has tabindex 0, the
  // others -1, and so have the links, buttons and tool calls inside every turn but the active
  // one, so that Tab goes from the active turn through its own controls and out. ArrowUp/
  // ArrowDown/Home/End move between turns; Enter or Space on a turn plays the call from it.
  // Without this, a 1,200-turn call was 1,200 tab stops before anything after it.
  var transcript = document.getElementById("turns");
  var allTurns = transcript ? Array.prototype.slice.call(transcript.querySelectorAll(".turn")) : [];
  var activeTurn = null;
  var INSIDE_TURN = "a, button, summary";

  function setInnerStops(turn, reachable) {
    turn.querySelectorAll(INSIDE_TURN).forEach(function (control) {
      if (reachable) control.removeAttribute("tabindex");
      else control.setAttribute("tabindex", "-1");
    });
  }

  function activateTurn(turn, focus) {
    if (!turn) return;
    if (activeTurn && activeTurn !== turn) {
      activeTurn.setAttribute("tabindex", "-1");
      setInnerStops(activeTurn, false);
    }
    activeTurn = turn;
    turn.setAttribute("tabindex", "0");
    setInnerStops(turn, true);
    if (focus) turn.focus();
  }

  // A time is a button only while there is something to play: when the recording cannot be
  // loaded, the times become plain text (the server renders them so when there is none), and
  // buttons again if a retry loads it.
  function setPlayable(playable) {
    if (!transcript) return;
    var selector = playable ? ".turn[data-at] > span.at" : ".turn[data-at] > button[data-seek]";
    transcript.querySelectorAll(selector).forEach(function (time) {
      var at = time.parentNode.dataset.at;
      var replacement = document.createElement(playable ? "button" : "span");
      replacement.className = "at";
      replacement.textContent = time.textContent;
      if (playable) {
        replacement.type = "button";
        replacement.className = "at link";
        replacement.dataset.seek = at;
        replacement.setAttribute("aria-label", "Play from " + time.textContent);
        if (time.parentNode !== activeTurn) replacement.setAttribute("tabindex", "-1");
      }
      time.replaceWith(replacement);
    });
  }

  if (allTurns.length) {
    allTurns.forEach(function (turn) { turn.setAttribute("tabindex", "-1"); });
    transcript.querySelectorAll(INSIDE_TURN).forEach(function (control) { control.setAttribute("tabindex", "-1"); });
    activateTurn(allTurns[0], false);
    // A click (on a turn or a control in it) makes that turn the tab stop.
    transcript.addEventListener("focusin", function (event) {
      var turn = event.target.closest(".turn");
      if (turn && turn !== activeTurn) activateTurn(turn, false);
    });
    transcript.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      var turn = event.target.closest(".turn");
      if (!turn) return;
      var index = allTurns.indexOf(turn);
      var next = null;
      if (event.key === "ArrowDown") next = allTurns[index + 1];
      else if (event.key === "ArrowUp") next = allTurns[index - 1];
      else if (event.key === "Home") next = allTurns[0];
      else if (event.key === "End") next = allTurns[allTurns.length - 1];
      else if ((event.key === "j" || event.key === "k") && turns.indexOf(turn) >= 0) {
        // From the focused turn rather than the one playing; goToTurn moves the focus along.
        event.preventDefault();
        event.stopPropagation();
        goToTurn(turns.indexOf(turn) + (event.key === "j" ? 1 : -1));
        return;
      } else if ((event.key === "Enter" || event.key === " ") && event.target === turn) {
        // Only a turn whose time is a button can be played from.
        var seek = turn.querySelector(":scope > [data-seek]");
        if (!seek || !player) return;
        event.preventDefault();
        event.stopPropagation();
        player.currentTime = parseFloat(seek.dataset.seek);
        player.play();
        return;
      } else return;
      event.preventDefault();
      event.stopPropagation();
      if (next) activateTurn(next, true);
    });
    // A comment added about a turn brings new links into it: keep them out of the tab order.
    document.addEventListener("htmx:load", function (event) {
      var turn = event.detail.elt.closest && event.detail.elt.closest("#turns .turn");
      if (turn && turn !== activeTurn) setInnerStops(turn, false);
    });
    if (player) {
      player.addEventListener("error", function () { setPlayable(false); });
      player.addEventListener("loadedmetadata", function () { setPlayable(true); });
      // The request may have failed before this script ran.
      if (player.error) setPlayable(false);
    }
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
    activateTurn(target, false);
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
    // Space already presses a focused button, opens a tool call (summary) or works the player.
    if (event.key === " " && event.target.closest("a, button:not([data-seek]), summary, audio")) return;
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

// Waiting and failures: a recording that does not load says so and offers a retry; a slow
// answer shows that the dashboard is still waiting; a typed note is not lost by leaving.
(function () {
  "use strict";

  // The recording: an <audio> whose source fails (the platform answered 503, the network
  // dropped) shows a greyed player at 0:00 and nothing else. Say so, and load it again on
  // request. Other code can follow it through the body's class and the events.
  var player = document.getElementById("player");
  var failed = document.getElementById("player-error");
  if (player && failed) {
    var recordingFailed = function () {
      failed.hidden = false;
      document.body.classList.add("recording-failed");
      document.dispatchEvent(new CustomEvent("recording:failed"));
    };
    player.addEventListener("error", recordingFailed);
    // The request may have failed before this (deferred) script ran.
    if (player.error) recordingFailed();
    player.addEventListener("loadedmetadata", function () {
      if (failed.hidden) return;
      failed.hidden = true;
      document.body.classList.remove("recording-failed");
      document.dispatchEvent(new CustomEvent("recording:loaded"));
    });
    failed.addEventListener("click", function (event) {
      if (!event.target.closest("[data-audio-retry]")) return;
      // Our own /audio address is never cached (no-store): load() asks for it again.
      player.load();
    });
  }

  // Long waits. After a second without an answer a bar and a sentence show that the request
  // is under way (the platform may take up to its timeout); a page of our own replaces
  // them, or the answer does.
  var WAIT_MS = 1000;
  // A link that turns out to be a file (the audit log's CSV) leaves the page where it was.
  var PAGE_WAIT_MAX_MS = 30000;
  var waiting = document.createElement("div");
  waiting.className = "waiting";
  waiting.setAttribute("role", "status");
  waiting.hidden = true;
  document.body.appendChild(waiting);
  var timer = null;
  var pending = 0;

  function startWaiting(sentence) {
    clearTimeout(timer);
    timer = setTimeout(function () {
      waiting.textContent = sentence;
      waiting.hidden = false;
      document.body.classList.add("is-waiting");
    }, WAIT_MS);
  }

  function stopWaiting() {
    clearTimeout(timer);
    timer = null;
    waiting.hidden = true;
    waiting.textContent = "";
    document.body.classList.remove("is-waiting");
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    // Polling (a job's progress) is waiting by design: no bar for it.
    if (/every /.test(event.detail.elt.getAttribute("hx-trigger") || "")) return;
    pending += 1;
    startWaiting("Still waiting for the platform…");
  });
  document.addEventListener("htmx:afterRequest", function () {
    pending = Math.max(pending - 1, 0);
    if (pending === 0) stopWaiting();
  });

  // Whole pages: a link followed or a form sent without htmx.
  function leavesThePage(link, event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return false;
    if (link.hasAttribute("download") || link.hasAttribute("data-export") || link.hasAttribute("hx-get")) return false;
    if (link.target && link.target !== "_self") return false;
    if (link.getAttribute("href").charAt(0) === "#") return false;
    var url = new URL(link.href, location.href);
    if (url.origin !== location.origin) return false;
    return !(url.pathname === location.pathname && url.search === location.search && url.hash);
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[href]");
    if (link && leavesThePage(link, event)) waitForPage();
  });
  // A button that asks for a file (data-download) leaves the page where it was.
  function downloads(event) {
    return Boolean(event.submitter && event.submitter.hasAttribute("data-download"));
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || form.hasAttribute("hx-post") || form.hasAttribute("hx-get")) return;
    if (downloads(event)) return;
    waitForPage();
  });
  function waitForPage() {
    startWaiting("Loading…");
    setTimeout(stopWaiting, PAGE_WAIT_MAX_MS);
  }
  // A page brought back by Back (bfcache) is not loading.
  window.addEventListener("pageshow", stopWaiting);

  // Unsaved notes. A form's textarea (a comment, a review's note, a criterion's note) whose
  // text differs from what the page was given is unsaved: leaving asks first. Sending the
  // form, or an htmx save that redraws it, ends that.
  var sending = false;
  // htmx handles its forms' submit (and prevents it) before the event reaches the document:
  // such a submit leaves nothing, and must not silence the warning for what is typed next.
  document.addEventListener("submit", function (event) {
    sending = !event.defaultPrevented && !downloads(event);
  });
  document.addEventListener("htmx:beforeRequest", function () { sending = false; });
  // What a form saved through htmx is no longer unsaved, also when the answer sends the
  // browser on (save and next) instead of redrawing the form. Read before htmx acts on it.
  document.addEventListener("htmx:beforeOnLoad", function (event) {
    var status = event.detail.xhr.status;
    var form = event.detail.elt.closest && event.detail.elt.closest("form");
    if (!form || status < 200 || status >= 300) return;
    Array.prototype.forEach.call(form.querySelectorAll("textarea, input"), function (field) {
      field.defaultValue = field.value;
    });
  });

  function unsaved() {
    var fields = document.querySelectorAll(
      "form textarea, form[data-warn-unsaved] input:not([type]), form[data-warn-unsaved] input[type=text]"
    );
    return Array.prototype.some.call(fields, function (field) {
      if (field.closest("dialog")) return false;
      return field.value.trim() !== field.defaultValue.trim();
    });
  }
  window.addEventListener("beforeunload", function (event) {
    if (sending || !unsaved()) return;
    // Whoever stays on the page after the question is not waiting for another one.
    stopWaiting();
    event.preventDefault();
    // Older browsers need a returnValue; none shows it any more.
    event.returnValue = "";
  });
})();

// List keys: on the conversation list, j and k move the focus to the next and previous row's
// link (its start time, named after the call), Enter opens it as on any focused link. Not
// while typing, nor in a dialog, as on a call's page. Rows added by "Load more" count too.
(function () {
  "use strict";
  if (!document.getElementById("rows")) return;

  document.addEventListener("keydown", function (event) {
    if (event.key !== "j" && event.key !== "k") return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    // A row's checkbox takes no letters: j and k move on from it as from its link.
    var typing = "input:not([type=checkbox]), textarea, select, [contenteditable], dialog";
    if (event.target.closest(typing)) return;
    var links = Array.prototype.slice.call(document.querySelectorAll("#rows a.open"));
    if (!links.length) return;
    // From the row that has the focus (its link, checkbox or Delete), else from the top.
    var row = document.activeElement && document.activeElement.closest("#rows tr");
    var at = row ? links.indexOf(row.querySelector("a.open")) : -1;
    var next = at < 0 ? 0 : Math.min(links.length - 1, Math.max(0, at + (event.key === "j" ? 1 : -1)));
    event.preventDefault();
    links[next].focus();
  });
})();
