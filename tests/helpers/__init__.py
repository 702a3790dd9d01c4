"""Helpers the test modules share: plain functions, constants and classes, one module a topic.

Fixtures stay in tests/conftest.py, where pytest finds them; what a test module imports
lives here: `environment` (the repository, the database backends under test, scratch
PostgreSQL databases, `skip_or_fail`), `accounts` (users, tokens and signed-in clients),
and the machinery of the test files split by subject: `api` (tests/test_api_*.py),
`backup` (tests/test_backup_*.py and tests/test_csv_import.py), `hostile`
(tests/test_hostile_*.py), `validation` (tests/test_validation_*.py) and `realdata`
(tests/test_realdata.py and tests/test_statuspage.py). Import them by module, e.g.
`from helpers.accounts import make_user`: pytest puts tests/ on sys.path (tests/ holds no
__init__.py; the default "prepend" import mode), which is also how `conftest` and
`factories` are found.
"""
