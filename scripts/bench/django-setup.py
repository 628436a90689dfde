# Run by p30-django.sh and p31-django-instructions.sh as python -c (its
# text), with the copy of Django under test as sys.argv[1]: django.setup()
# with 6 contrib apps; prints how many modules that imported.
import sys, django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.admin", "django.contrib.auth",
                    "django.contrib.contenttypes", "django.contrib.sessions",
                    "django.contrib.messages", "django.contrib.staticfiles"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    SECRET_KEY="bench", USE_TZ=True)
django.setup()
assert django.__file__.startswith(sys.argv[1]), django.__file__
print(len(sys.modules))
