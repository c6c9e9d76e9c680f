// The session timeout warning (WCAG 2.2.1 Timing adjustable), after the HMRC/GOV.UK
// timeout warning pattern. Loaded as a module (no inline script: the CSP forbids it).
//
// templates/auth/_timeout_warning.html renders <dialog id="app-timeout-warning"> for
// signed-in users only, with
//   data-seconds-left     seconds until the server signs this session out
//   data-warning-seconds  how long before that to warn (SESSION_TIMEOUT_WARNING)
//   data-extendable       "false" when the absolute limit comes first ("Stay signed in"
//                         cannot move it)
//   data-sign-in-url      where to go once the time is up
// At the warning time the dialog opens as a modal and takes focus. "Stay signed in" (or
// Escape) posts the dialog's form, CSRF token included, to /session/keep-alive, which
// restarts the idle clock and answers with the new seconds left. When time runs out the
// page goes to the sign-in page, where the server, having timed the session out itself,
// says why. Other tabs of the same session hear about new deadlines through a
// BroadcastChannel, so a page in a background tab does not warn while you work in another.

const TICK_MS = 1000;
// Leave a little after the deadline, so the server's clock has passed it as well.
const MARGIN_MS = 1500;

/** "2 minutes", then "1 minute", "40 seconds", "20 seconds": the visible text changes at
 * most once a minute, and every 20 seconds in the last minute. */
export function countdownText(seconds) {
  if (seconds > 60) {
    return `${Math.ceil(seconds / 60)} minutes`;
  }
  const step = Math.max(1, Math.ceil(seconds / 20)) * 20;
  return step === 60 ? "1 minute" : `${step} seconds`;
}

function startTimeoutWarning(dialog) {
  const form = dialog.querySelector(".js-timeout-form");
  const stayButton = dialog.querySelector(".js-timeout-stay");
  const countdowns = dialog.querySelectorAll(".js-timeout-countdown");
  const live = dialog.querySelector(".js-timeout-live");
  const error = dialog.querySelector(".js-timeout-error");
  const variants = dialog.querySelectorAll("[data-timeout-variant]");
  const signInUrl = dialog.dataset.signInUrl;
  const warningMs = Number(dialog.dataset.warningSeconds) * 1000;
  const channel = "BroadcastChannel" in window ? new BroadcastChannel("portal-session") : null;

  let deadline = 0;
  let extendable = true;
  let acknowledged = false; // a warning that "Continue" could not push back has been seen
  let shown = ""; // the countdown text on screen
  let busy = false;
  let leaving = false;

  function remaining() {
    return deadline - Date.now();
  }

  function setDeadline(secondsLeft, canExtend) {
    deadline = Date.now() + Number(secondsLeft) * 1000;
    extendable = Boolean(canExtend);
    for (const element of variants) {
      element.hidden = element.dataset.timeoutVariant !== (extendable ? "extendable" : "final");
    }
    stayButton.textContent = extendable ? "Stay signed in" : "Continue";
  }

  function showCountdown() {
    const text = countdownText(Math.max(1, Math.ceil(remaining() / 1000)));
    if (text === shown) {
      return;
    }
    const opening = shown === "";
    shown = text;
    for (const element of countdowns) {
      element.textContent = text;
    }
    // On opening, the dialog's own description is read; after that, only the changes.
    if (!opening) {
      live.textContent = `You will be signed out in ${text}.`;
    }
  }

  function open() {
    shown = "";
    live.textContent = "";
    error.hidden = true;
    showCountdown();
    dialog.returnValue = ""; // stays "" if Escape closes it (see the close listener)
    dialog.showModal();
    dialog.focus(); // the dialog itself, so its heading and text are read first
  }

  function close() {
    if (dialog.open) {
      dialog.close("done"); // focus goes back to where it was
    }
  }

  function leave() {
    leaving = true;
    window.clearInterval(timer);
    const here = window.location.pathname + window.location.search;
    window.location.assign(`${signInUrl}?next=${encodeURIComponent(here)}`);
  }

  function check() {
    if (leaving) {
      return;
    }
    const left = remaining();
    if (left <= -MARGIN_MS && !busy) {
      leave();
      return;
    }
    if (left <= warningMs && !dialog.open && !acknowledged) {
      open();
    }
    if (dialog.open) {
      showCountdown();
    }
  }

  // A new deadline: from "Stay signed in" here (dismiss), or from another tab.
  function update(secondsLeft, canExtend, dismiss) {
    setDeadline(secondsLeft, canExtend);
    if (remaining() > warningMs) {
      acknowledged = false;
      close();
    } else if (dismiss) {
      acknowledged = true;
      close();
    }
    check();
  }

  async function staySignedIn() {
    if (busy || leaving) {
      return;
    }
    busy = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (response.status === 401) {
        busy = false;
        leave(); // already signed out: the sign-in page says why
        return;
      }
      if (!response.ok) {
        throw new Error(`keep-alive answered ${response.status}`);
      }
      const answer = await response.json();
      busy = false;
      if (channel) {
        channel.postMessage({ secondsLeft: answer.seconds_left, extendable: answer.extendable });
      }
      update(answer.seconds_left, answer.extendable, true);
    } catch {
      busy = false;
      if (!dialog.open) {
        open();
      }
      error.hidden = false;
      live.textContent = "We could not keep you signed in. Try again.";
    }
  }

  form.addEventListener("submit", (event) => {
    if (event.submitter && event.submitter.hasAttribute("formaction")) {
      leaving = true; // "Sign out": an ordinary form post
      return;
    }
    event.preventDefault();
    staySignedIn();
  });

  // Escape means "Stay signed in". Chrome lets a page cancel Escape only after a user
  // gesture, so the dialog may close anyway: that is handled as the same choice below.
  dialog.addEventListener("cancel", (event) => {
    if (event.cancelable) {
      event.preventDefault();
    }
    staySignedIn();
  });
  dialog.addEventListener("close", () => {
    if (dialog.returnValue !== "done" && !leaving) {
      staySignedIn();
    }
  });

  if (channel) {
    channel.addEventListener("message", (event) => {
      const data = event.data || {};
      if (typeof data.secondsLeft === "number") {
        update(data.secondsLeft, data.extendable, false);
      }
    });
  }

  setDeadline(dialog.dataset.secondsLeft, dialog.dataset.extendable === "true");
  if (channel) {
    channel.postMessage({ secondsLeft: Number(dialog.dataset.secondsLeft), extendable });
  }
  // Timers in background tabs are slowed down: look again as soon as the tab is back.
  document.addEventListener("visibilitychange", check);
  const timer = window.setInterval(check, TICK_MS);
  check();
}

const warningDialog = document.getElementById("app-timeout-warning");
if (warningDialog && typeof warningDialog.showModal === "function") {
  startTimeoutWarning(warningDialog);
}
