#!/bin/sh
# Chromium in kiosk mode on the citizen UI. Started by adm-kiosk-session.service inside cage.
# Waits for the controller to answer (it starts, recovers open print jobs, then serves), so the
# citizen never sees a "site can't be reached" page; then runs Chromium with everything a
# citizen could use to leave the kiosk turned off. A crash or exit restarts the unit.
set -eu
URL="${ADM_KIOSK_URL:-http://127.0.0.1:8000/}"
PROFILE="${XDG_RUNTIME_DIR:-/tmp}/adm-chromium"

i=0
until curl -fsS -o /dev/null --max-time 2 "$URL"; do
    i=$((i + 1))
    [ "$i" -ge 120 ] && break  # two minutes: show Chromium's own error page rather than a black screen
    sleep 1
done

rm -rf "$PROFILE"  # a fresh profile each start: no history, cookies or cache from earlier citizens
exec chromium \
    --kiosk "$URL" \
    --user-data-dir="$PROFILE" \
    --ozone-platform=wayland \
    --incognito \
    --no-first-run \
    --noerrdialogs \
    --disable-infobars \
    --disable-translate \
    --disable-features=Translate,TranslateUI,OverscrollHistoryNavigation,MediaRouter \
    --disable-pinch \
    --overscroll-history-navigation=0 \
    --disable-session-crashed-bubble \
    --disable-component-update \
    --check-for-update-interval=31536000 \
    --password-store=basic \
    --autoplay-policy=no-user-gesture-required \
    --lang=id
