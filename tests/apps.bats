# A real application on a read-only tree: Django (Debian's python3-django,
# run by Debian's /usr/bin/python3), copied into a tree that is bind-mounted
# read-only, `django.setup()` plus the `check` management command, with
# caches redirected to a tmpfs.  Same output as without the shim; the first
# start fills the tmpfs, the second start writes nothing.

load hardening

setup() {
	nopyc_setup
	need_unshare
	need_pkg python3-django
	PY=/usr/bin/python3
	export PY
	[[ -x $PY ]] || skip "/usr/bin/python3 missing (Debian package python3)"
	DJANGO=$("$PY" -c 'import django, os; print(os.path.dirname(django.__file__))' 2>/dev/null) ||
		skip "Debian's python3 cannot import django (Debian package python3-django)"
	APP=$T/app
	TGT=$BATS_TEST_TMPDIR/pycache
	AFTER=$BATS_TEST_TMPDIR/after
	mkdir -p "$APP/proj" "$TGT" "$AFTER"
	# Django without its message catalogues and without any shipped cache.
	tar -C "${DJANGO%/*}" --exclude='*.po' --exclude='*.mo' --exclude=__pycache__ -cf - django | tar -C "$APP" -xf -
	: >"$APP/proj/__init__.py"
	cat >"$APP/proj/settings.py" <<'EOF'
SECRET_KEY = "nopyc-test-only"
DEBUG = False
ALLOWED_HOSTS = ["localhost"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
ROOT_URLCONF = "proj.urls"
STATIC_URL = "/static/"
USE_TZ = True
USE_I18N = False
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
EOF
	cat >"$APP/proj/urls.py" <<'EOF'
from django.contrib import admin
from django.urls import path
urlpatterns = [path("admin/", admin.site.urls)]
EOF
	cat >"$APP/manage_check.py" <<'EOF'
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
import django
here = os.path.dirname(os.path.abspath(__file__))
print("django from the app tree:", django.__file__.startswith(here + "/"))
django.setup()
from django.apps import apps
from django.core.management import call_command
call_command("check")
print("apps:", ",".join(a.label for a in apps.get_app_configs()))
import django.contrib.admin.sites, django.db.backends.sqlite3.base
print("modules from the app tree:", sum(1 for m in list(sys.modules.values())
      if (getattr(m, "__file__", None) or "").startswith(here + "/")))
EOF
}

@test "apps: Django 'check' on a read-only tree, caches redirected to a tmpfs: output as without the shim, second start writes nothing" {
	export APP TGT AFTER NOPYC_RULES="redirect ** $TGT"
	run --separate-stderr unshare -m -- bash -c "$(declare -p NOPYC_TEST_PY_ENV_CLEAR); $(declare -f py_shim py_noshim)"'
		set -u
		mount --bind "$APP" "$APP" && mount -o remount,bind,ro "$APP" || exit 90
		touch "$APP/probe" 2>/dev/null && exit 91     # really read-only
		mount -t tmpfs -o size=64m,mode=0700 nopyc-django "$TGT" || exit 92
		py_noshim "$APP/manage_check.py" >"$AFTER/noshim.out" 2>"$AFTER/noshim.err"
		echo "noshim: $?"
		py_shim "$APP/manage_check.py" >"$AFTER/first.out" 2>"$AFTER/first.err"
		echo "first: $?"
		find "$TGT" -printf "%i %T@ %s %p\n" | LC_ALL=C sort -k4 >"$AFTER/snap1"
		py_shim "$APP/manage_check.py" >"$AFTER/second.out" 2>"$AFTER/second.err"
		echo "second: $?"
		find "$TGT" -printf "%i %T@ %s %p\n" | LC_ALL=C sort -k4 >"$AFTER/snap2"
		cp -a "$TGT" "$AFTER/tgt"'
	assert_success
	[[ $output == "noshim: 0"* ]] || fail "the app fails even without the shim: $(tail -5 "$AFTER/noshim.err")"
	assert_output "noshim: 0
first: 0
second: 0"
	# the application's own output, unchanged
	run cat "$AFTER/noshim.out"
	assert_line "django from the app tree: True"
	assert_line "System check identified no issues (0 silenced)."
	assert_line "apps: admin,auth,contenttypes,sessions,messages,staticfiles"
	assert_regex "$output" "modules from the app tree: [0-9]{3}"
	assert_equal "$(<"$AFTER/first.out")" "$(<"$AFTER/noshim.out")"
	assert_equal "$(<"$AFTER/second.out")" "$(<"$AFTER/noshim.out")"
	assert_equal "$(<"$AFTER/first.err")" "$(<"$AFTER/noshim.err")"
	assert_equal "$(<"$AFTER/second.err")" "$(<"$AFTER/noshim.err")"
	# the first start filled the tmpfs: a pyc for every Django module loaded
	local n
	n=$(find "$AFTER/tgt$APP/django" -name "*.cpython-311.pyc" | wc -l)
	((n >= 100)) || fail "only $n Django pycs in TARGET"
	assert_pycs "$AFTER/tgt" "$(find "$AFTER/tgt" -name '*.pyc' | wc -l)"
	# the second start read them and wrote nothing
	assert_equal "$(<"$AFTER/snap2")" "$(<"$AFTER/snap1")"
	# and the application tree never got a cache (it could not: read-only)
	assert_no_caches "$APP"
}
