// The sandbox's stand-in for https://telegram.org/js/telegram-web-app.js: the part of
// window.Telegram.WebApp a Mini App page uses, read from the launch parameters in the URL fragment
// (tgWebAppData, tgWebAppThemeParams, ...) exactly where Telegram's clients put them. Events go to the
// embedding web chat with postMessage in the format Telegram's web clients use.
(function () {
  "use strict";
  const launch = new URLSearchParams(window.location.hash.slice(1));
  const initData = launch.get("tgWebAppData") || "";
  const themeParams = JSON.parse(launch.get("tgWebAppThemeParams") || "{}");
  const fields = new URLSearchParams(initData);
  const initDataUnsafe = {};
  for (const [key, value] of fields) {
    initDataUnsafe[key] = key === "user" || key === "receiver" || key === "chat" ? JSON.parse(value) : value;
  }
  if (initDataUnsafe.auth_date) initDataUnsafe.auth_date = Number(initDataUnsafe.auth_date);
  const handlers = {};

  function postEvent(eventType, eventData) {
    if (window.parent !== window) {
      window.parent.postMessage(JSON.stringify({ eventType, eventData: eventData || {} }), "*");
    }
  }

  function brightness(hex) {
    const value = parseInt((hex || "#ffffff").slice(1), 16);
    return 0.299 * (value >> 16) + 0.587 * ((value >> 8) & 255) + 0.114 * (value & 255);
  }

  const root = document.documentElement.style;
  for (const [key, value] of Object.entries(themeParams)) {
    root.setProperty(`--tg-theme-${key.replace(/_/g, "-")}`, value);
  }
  const colorScheme = brightness(themeParams.bg_color) < 128 ? "dark" : "light";
  root.setProperty("--tg-color-scheme", colorScheme);

  const haptic = { impactOccurred() {}, notificationOccurred() {}, selectionChanged() {} };
  window.Telegram = window.Telegram || {};
  window.Telegram.WebApp = {
    initData,
    initDataUnsafe,
    version: launch.get("tgWebAppVersion") || "8.0",
    platform: launch.get("tgWebAppPlatform") || "web",
    colorScheme,
    themeParams,
    isExpanded: true,
    HapticFeedback: haptic,
    ready() { postEvent("web_app_ready"); },
    expand() { postEvent("web_app_expand"); },
    close() { postEvent("web_app_close"); },
    showAlert(message, callback) { window.alert(message); if (callback) callback(); },
    onEvent(name, handler) { (handlers[name] = handlers[name] || []).push(handler); },
    offEvent(name, handler) { handlers[name] = (handlers[name] || []).filter((h) => h !== handler); },
  };
})();
