/*
 * Amends: small progressive enhancements. No dependencies.
 *
 * Loaded with `defer` on every page. The Content-Security-Policy forbids
 * inline scripts and eval, so all client-side behaviour lives in this file.
 * Every page must work without it: this only adds focus management,
 * confirmation prompts, live character counters and a file size check.
 */
(function () {
  "use strict";

  var COUNT_DELAY_MS = 300;
  var ANNOUNCE_DELAY_MS = 1000;

  // Very old browsers get the plain, fully working pages.
  if (!("closest" in Element.prototype) || typeof WeakSet !== "function") {
    return;
  }

  /* ---- Error summary: move focus so screen readers announce the errors -- */

  function focusErrorSummary(root) {
    if (!root || !root.querySelector) {
      return;
    }
    var summary = root.matches && root.matches(".error-summary")
      ? root
      : root.querySelector(".error-summary");
    if (!summary || !summary.isConnected) {
      return;
    }
    if (!summary.hasAttribute("tabindex")) {
      summary.setAttribute("tabindex", "-1");
    }
    summary.focus();
  }

  // Links in the summary point at fields (href="#field-id"). Browsers scroll
  // to the input but do not always focus it, and the label ends up off-screen.
  function onErrorSummaryClick(event) {
    var link = event.target.closest(".error-summary a[href^='#']");
    if (!link) {
      return;
    }
    var id = decodeURIComponent(link.getAttribute("href").slice(1));
    var input = id && document.getElementById(id);
    if (!input || typeof input.focus !== "function") {
      return;
    }
    event.preventDefault();
    var context = input.closest("fieldset") || input.closest(".field") || input;
    context.scrollIntoView();
    input.focus({ preventScroll: true });
  }

  /* ---- Confirmation: data-confirm on a form or its submit button ---------- */

  function confirmMessage(form, submitter) {
    if (submitter && submitter.hasAttribute("data-confirm")) {
      return submitter.getAttribute("data-confirm");
    }
    if (form.hasAttribute("data-confirm")) {
      return form.getAttribute("data-confirm");
    }
    if (submitter === undefined) {
      // Older browsers without SubmitEvent.submitter: any confirming button.
      var button = form.querySelector("button[data-confirm], input[type='submit'][data-confirm]");
      if (button) {
        return button.getAttribute("data-confirm");
      }
    }
    return null;
  }

  // Registered in the capture phase so it runs before htmx's own submit
  // handler on the form; a cancelled submit never reaches htmx.
  function onSubmit(event) {
    var form = event.target;
    if (!form || form.tagName !== "FORM") {
      return;
    }
    var message = confirmMessage(form, event.submitter);
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopPropagation();
    }
  }

  /* ---- Character counters: textarea[data-maxlength] ---------------------- */

  var counted = new WeakSet();

  function findCounter(textarea) {
    var ids = (textarea.getAttribute("aria-describedby") || "").split(/\s+/);
    for (var i = 0; i < ids.length; i++) {
      var el = ids[i] && document.getElementById(ids[i]);
      if (el && el.classList.contains("char-count")) {
        return el;
      }
    }
    return null;
  }

  function plural(n) {
    return n === 1 ? "character" : "characters";
  }

  // Count code points, as the server's len() does, not UTF-16 units.
  function length(value) {
    return Array.from(value).length;
  }

  function counterText(remaining) {
    var amount = Math.abs(remaining).toLocaleString("en-GB");
    return remaining >= 0
      ? "You have " + amount + " " + plural(remaining) + " remaining"
      : "You have " + amount + " " + plural(-remaining) + " too many";
  }

  // Screen readers hear the count only near the limit, and only once typing pauses.
  function isNearLimit(remaining, max) {
    return remaining <= Math.max(20, Math.floor(max / 10));
  }

  function updateCounter(textarea, counter, max) {
    var remaining = max - length(textarea.value);
    var text = counterText(remaining);
    if (counter.textContent !== text) {
      counter.textContent = text;
    }
    counter.classList.toggle("char-count--over", remaining < 0);
    return remaining;
  }

  function announce(status, remaining, max) {
    var text = isNearLimit(remaining, max) ? counterText(remaining) : "";
    if (status.textContent !== text) {
      status.textContent = text;
    }
  }

  function setUpCounter(textarea) {
    if (counted.has(textarea)) {
      return;
    }
    var max = parseInt(textarea.getAttribute("data-maxlength"), 10);
    var counter = findCounter(textarea);
    if (!counter || !(max > 0)) {
      return;
    }
    counted.add(textarea);
    var status = document.getElementById(counter.id + "-status");

    var timer = null;
    var last = 0;
    var announceTimer = null;
    function schedule() {
      if (status) {
        window.clearTimeout(announceTimer);
        announceTimer = window.setTimeout(function () {
          announce(status, max - length(textarea.value), max);
        }, ANNOUNCE_DELAY_MS);
      }
      if (timer) {
        return;
      }
      var wait = Math.max(0, COUNT_DELAY_MS - (Date.now() - last));
      timer = window.setTimeout(function () {
        timer = null;
        last = Date.now();
        updateCounter(textarea, counter, max);
      }, wait);
    }
    textarea.addEventListener("input", schedule);

    // The server renders a sensible static hint. Only replace it straight away
    // when the field already holds text (for example after a validation error).
    if (textarea.value) {
      updateCounter(textarea, counter, max);
    }
  }

  function setUpCounters(root) {
    if (!root || !root.querySelectorAll) {
      return;
    }
    if (root.matches && root.matches("textarea[data-maxlength]")) {
      setUpCounter(root);
    }
    var areas = root.querySelectorAll("textarea[data-maxlength]");
    for (var i = 0; i < areas.length; i++) {
      setUpCounter(areas[i]);
    }
  }

  /* ---- File inputs: input[type=file][data-max-bytes] --------------------- */

  // The server refuses a file over the limit with the same words; saying it here, before a
  // long upload, spares the wait. Nothing is cleared: the customer chooses again.

  function megabytes(bytes) {
    return Math.floor(bytes / (1024 * 1024));
  }

  function fileProblems(input) {
    var maxBytes = parseInt(input.getAttribute("data-max-bytes"), 10);
    var maxFiles = parseInt(input.getAttribute("data-max-files"), 10);
    var problems = [];
    var files = input.files || [];
    if (maxFiles > 0 && files.length > maxFiles) {
      problems.push("Attach " + maxFiles + " files at most.");
    }
    for (var i = 0; i < files.length; i++) {
      if (maxBytes > 0 && files[i].size > maxBytes) {
        problems.push("\u201c" + files[i].name + "\u201d is larger than " + megabytes(maxBytes) +
          " MB. Choose a smaller file, or leave it out and send it later.");
      }
    }
    return problems;
  }

  function showFileProblems(input) {
    var message = document.getElementById(input.id + "-too-large");
    var problems = fileProblems(input);
    if (message) {
      message.textContent = problems.join(" ");
      message.hidden = problems.length === 0;
    }
    return problems.length === 0;
  }

  function onFileChange(event) {
    var input = event.target;
    if (input && input.matches && input.matches("input[type='file'][data-max-bytes]")) {
      showFileProblems(input);
    }
  }

  // Runs before the confirmation prompt and htmx: a form with a file over the limit is not
  // sent, and the message is shown beside the file field.
  function onSubmitCheckFiles(event) {
    var form = event.target;
    if (!form || form.tagName !== "FORM") {
      return;
    }
    var inputs = form.querySelectorAll("input[type='file'][data-max-bytes]");
    for (var i = 0; i < inputs.length; i++) {
      if (!showFileProblems(inputs[i])) {
        event.preventDefault();
        event.stopImmediatePropagation();
        inputs[i].focus();
        return;
      }
    }
  }

  /* ---- Wiring ------------------------------------------------------------ */

  function init() {
    document.addEventListener("submit", onSubmitCheckFiles, true);
    document.addEventListener("submit", onSubmit, true);
    document.addEventListener("change", onFileChange);
    document.addEventListener("click", onErrorSummaryClick);
    setUpCounters(document);
    focusErrorSummary(document);

    // htmx fires these on each newly swapped element; they bubble to body.
    document.body.addEventListener("htmx:load", function (event) {
      setUpCounters(event.target);
    });
    document.body.addEventListener("htmx:afterSettle", function (event) {
      setUpCounters(event.target);
      focusErrorSummary(event.target);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
