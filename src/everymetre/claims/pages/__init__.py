"""The claims pages: the citizen's application and "My claims" (`citizen.py`), the staff queue, claim page and
inspection act (`staff.py`), the view models they share (`views.py`), form parsing and words (`forms.py`, `text.py`)."""
