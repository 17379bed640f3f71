"""The web console at /console, driven in Debian's headless Chromium through selenium.

One browser for the module and one server (a console-mode account with a grant delay, a user
who may call models and one who may not, each with a console password). Skipped when chromium
or chromedriver is absent, unless CI is set (then it fails). Screenshots go to a temporary
directory, or to BEDROCK_GATES_SCREENSHOTS when set (`BEDROCK_GATES_SCREENSHOTS=docs/console`
refreshes the ones in the docs), so a test run leaves the checkout as it was.
"""

import json
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from conftest import Server

import tempfile

DOCS = Path(os.environ.get("BEDROCK_GATES_SCREENSHOTS") or tempfile.mkdtemp(prefix="bg-console-shots-"))
ACCOUNT = "262626262626"
MODEL = "anthropic.claude-3-haiku-20240307-v1:0"
DELAY = 600

SCENARIO = f"""
[[account]]
id = "{ACCOUNT}"
alias = "console-test"
access_mode = "console"
grant_delay_secs = {DELAY}

[[user]]
account = "{ACCOUNT}"
name = "alice"
attach = ["AmazonBedrockFullAccess"]

[[user]]
account = "{ACCOUNT}"
name = "bob"
attach = ["AmazonBedrockReadOnly"]

[[access]]
account = "{ACCOUNT}"
region = "us-east-1"
model = "amazon.nova-lite-v1:0"
grant = "granted"

[[login_profile]]
account = "{ACCOUNT}"
user = "alice"
password = "alice-console-pw"

[[login_profile]]
account = "{ACCOUNT}"
user = "bob"
password = "bob-console-pw"

[[login_profile]]
account = "{ACCOUNT}"
password = "root-console-pw"

[[access_key]]
account = "{ACCOUNT}"
user = "alice"
id = "AKIACONSOLEALICE0001"
secret = "alice-key-secret"

[[access_key]]
account = "{ACCOUNT}"
user = "bob"
id = "AKIACONSOLEBOB000001"
secret = "bob-key-secret"

[[access_key]]
account = "{ACCOUNT}"
id = "AKIACONSOLEROOT00001"
secret = "root-key-secret"

# An account in automatic access mode (the default), without the Anthropic form on file.
[[account]]
id = "272727272727"

[[user]]
account = "272727272727"
name = "carol"
attach = ["AmazonBedrockReadOnly"]

[[access_key]]
account = "272727272727"
user = "carol"
id = "AKIACONSOLECAROL0001"
secret = "carol-key-secret"

[[access_key]]
account = "272727272727"
id = "AKIACONSOLEROOT27271"
secret = "root27-key-secret"

[[user]]
account = "{ACCOUNT}"
name = "dana"
attach = ["IAMUserChangePassword"]

[[login_profile]]
account = "{ACCOUNT}"
user = "dana"
password = "dana-console-pw"

[[access_key]]
account = "{ACCOUNT}"
user = "dana"
id = "AKIACONSOLEDANA00001"
secret = "dana-key-secret"

[[user]]
account = "{ACCOUNT}"
name = "erin"
attach = ["IAMUserChangePassword", "AmazonBedrockReadOnly"]

[[login_profile]]
account = "{ACCOUNT}"
user = "erin"
password = "erin-first-pw"
password_reset_required = true

[[role]]
account = "{ACCOUNT}"
name = "ConsoleReader"
trust = '''{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow",
  "Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:user/alice"}},"Action":"sts:AssumeRole"}}]}}'''
attach = ["AmazonBedrockReadOnly"]

[[answer]]
model = "{MODEL}"
text = "Hello from the console playground, streamed token by token."
"""


def _browser_paths():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return chromium, driver


@pytest.fixture(scope="module")
def console_server(tmp_path_factory):
    d = tmp_path_factory.mktemp("console")
    s = Server.with_scenario_text(d, SCENARIO, name="console.toml")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser():
    chromium, driver = _browser_paths()
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        chromium = None
    if not (chromium and driver):
        msg = "the console tests need Debian's chromium and chromium-driver and the selenium package"
        if os.environ.get("CI"):
            pytest.fail(msg + " (CI is set: install them in .ci/run)")
        pytest.skip(msg)
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1400,1000", "--disable-background-networking",
              "--disable-component-update", "--no-first-run", "--disable-sync"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    b = webdriver.Chrome(service=Service(driver), options=opts)
    b.implicitly_wait(0)
    yield b
    b.quit()


def wait_for(browser, cond, timeout=15):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(browser, timeout, poll_frequency=0.1).until(cond)


def by_css(css):
    from selenium.webdriver.common.by import By
    return (By.CSS_SELECTOR, css)


def q(browser, css):
    # Waits for the element: after a click the next page may still be loading (CI machines are
    # slow and shared), and an element that never comes fails after the timeout.
    return wait_for(browser, lambda b: (b.find_elements(*by_css(css)) or [None])[0])


def text(browser, css):
    """The text of the element at `css`, read again if the page replaces the element meanwhile
    (a URL that has changed does not mean the new document is in place yet)."""
    from selenium.common.exceptions import StaleElementReferenceException

    def read(b):
        found = b.find_elements(*by_css(css))
        if not found:
            return None
        try:
            return (found[0].text,)
        except StaleElementReferenceException:
            return None

    return wait_for(browser, read)[0]


def shot(browser, name):
    DOCS.mkdir(parents=True, exist_ok=True)
    path = DOCS / f"{name}.png"
    assert browser.save_screenshot(str(path)), f"screenshot {name} failed"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def sign_in(browser, server, user, password, account=ACCOUNT):
    browser.get(server.url + "/console/signin")
    q(browser, "#account").send_keys(account)
    if user:
        q(browser, "#username").send_keys(user)
    q(browser, "#password").send_keys(password)
    q(browser, "#signin-password").click()
    wait_for(browser, lambda b: "/console/models" in b.current_url or "/console/change-password" in b.current_url
             or b.find_elements(*by_css("#signin-error")))


def sign_out(browser):
    q(browser, "#signout").click()
    wait_for(browser, lambda b: "/console/signin" in b.current_url)


def status_of(browser, model):
    return text(browser, f'tr[data-model="{model}"] td.status')


def cookie(browser):
    return browser.get_cookie("bg_console")["value"]


def post(server, path, data, cookie_value=None, headers=None):
    """A form POST outside the browser (a forged request): (status, body)."""
    h = {"Content-Type": "application/x-www-form-urlencoded"}
    if cookie_value:
        h["Cookie"] = f"bg_console={cookie_value}"
    h.update(headers or {})
    req = urllib.request.Request(server.url + path, data=urllib.parse.urlencode(data).encode(),
                                 headers=h, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_banner_names_the_console(console_server):
    assert console_server.fields["console"] == console_server.url + "/console"


def test_sign_in_failures_and_access_key(console_server, browser):
    sign_in(browser, console_server, "alice", "wrong-password")
    assert text(browser, "#signin-error") == "Your authentication information is incorrect. Please try again."
    shot(browser, "signin")
    # An access key that the credentials gate does not know: its refusal, as an SDK prints it.
    browser.get(console_server.url + "/console/signin")
    q(browser, "#access_key_id").send_keys("AKIANOSUCHKEY0000000")
    q(browser, "#secret_access_key").send_keys("nope")
    q(browser, "#signin-key").click()
    assert text(browser, "#signin-error") == (
        "An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation: "
        "The security token included in the request is invalid.")
    browser.get(console_server.url + "/console/signin")
    q(browser, "#access_key_id").send_keys("AKIACONSOLEALICE0001")
    q(browser, "#secret_access_key").send_keys("alice-key-secret")
    q(browser, "#signin-key").click()
    wait_for(browser, lambda b: "/console/models" in b.current_url)
    assert text(browser, "#principal") == f"arn:aws:iam::{ACCOUNT}:user/alice"
    sign_out(browser)


def test_request_access_in_console_mode_then_granted_then_playground(console_server, browser):
    s = console_server
    sign_in(browser, s, "alice", "alice-console-pw")
    assert text(browser, "#principal") == f"arn:aws:iam::{ACCOUNT}:user/alice"
    c = browser.get_cookie("bg_console")
    assert c["httpOnly"] and c["sameSite"] == "Strict" and c["path"] == "/console"

    # Switch Region: the page is now us-west-2's, and the selector says so.
    from selenium.webdriver.support.ui import Select
    Select(q(browser, "#region")).select_by_value("us-west-2")
    wait_for(browser, lambda b: "region=us-west-2" in b.current_url)
    assert q(browser, "body").get_attribute("data-region") == "us-west-2"
    assert status_of(browser, MODEL) == "Available to request"
    Select(q(browser, "#region")).select_by_value("us-east-1")
    wait_for(browser, lambda b: "region=us-east-1" in b.current_url)

    assert status_of(browser, MODEL) == "Available to request"
    assert status_of(browser, "amazon.nova-lite-v1:0") == "Access granted"
    shot(browser, "model-access")

    q(browser, f'input[name="model"][value="{MODEL}"]').click()
    q(browser, "#request-access").click()
    wait_for(browser, lambda b: "/console/models/request" in b.current_url)
    # The EULA is a modal: the form behind it cannot be used until it is accepted.
    assert q(browser, "#eula").get_attribute("open") is not None
    shot(browser, "eula")
    q(browser, "#eula-ok").click()
    assert q(browser, "#eula-accept").is_selected()
    for name, value in [("companyName", "Example Corp"), ("companyWebsite", "https://example.com"),
                        ("intendedUsers", "0"), ("industryOption", "Technology"),
                        ("useCases", "Internal assistant for support staff")]:
        q(browser, f"#uc-{name}").send_keys(value)
    shot(browser, "use-case-form")
    q(browser, "#submit").click()
    wait_for(browser, lambda b: b.find_elements(*by_css("#request-results")))
    assert [li.text for li in browser.find_elements(*by_css("#request-results li"))] == [
        "Anthropic use case: request submitted", f"{MODEL}: request submitted"]
    assert status_of(browser, MODEL) == "In progress"
    # In CloudTrail the request is alice's own call, made from the console.
    import boto3
    ct = boto3.client("cloudtrail", endpoint_url=s.url, region_name="us-east-1",
                      aws_access_key_id="AKIACONSOLEROOT00001", aws_secret_access_key="root-key-secret")
    events = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName",
                                                 "AttributeValue": "CreateFoundationModelAgreement"}])["Events"]
    assert [e["Username"] for e in events] == ["alice"]
    assert json.loads(events[0]["CloudTrailEvent"])["userIdentity"]["arn"] == f"arn:aws:iam::{ACCOUNT}:user/alice"

    # The grant delay passes on the gate clock; a reload shows the grant.
    s.admin(f"/_bedrock-gates/clock?advance={DELAY}", method="POST")
    browser.get(s.url + "/console/models?region=us-east-1")
    assert status_of(browser, MODEL) == "Access granted"

    # The playground streams the answer through ConverseStream.
    browser.get(s.url + f"/console/playground?region=us-east-1&model={urllib.parse.quote(MODEL)}")
    q(browser, "#system").send_keys("Be brief.")
    q(browser, "#prompt").send_keys("Say hello")
    q(browser, "#send").click()
    wait_for(browser, lambda b: q(b, "#metrics").get_attribute("data-done") == "1")
    assert text(browser, "#output") == "Hello from the console playground, streamed token by token."
    assert text(browser, "#metrics").startswith("Input tokens ")
    assert q(browser, "#refusal").get_attribute("hidden") is not None
    shot(browser, "playground")
    sign_out(browser)


def test_refused_playground_call_shows_aws_error_and_gate_then_refusals_page(console_server, browser):
    s = console_server
    sign_in(browser, s, "bob", "bob-console-pw")
    browser.get(s.url + "/console/playground?region=us-east-1&model=amazon.nova-lite-v1%3A0")
    q(browser, "#prompt").send_keys("hi")
    q(browser, "#send").click()
    wait_for(browser, lambda b: q(b, "#refusal").get_attribute("hidden") is None)
    want = (f"An error occurred (AccessDeniedException) when calling the ConverseStream operation: "
            f"User: arn:aws:iam::{ACCOUNT}:user/bob is not authorized to perform: "
            f"bedrock:InvokeModelWithResponseStream on resource: "
            f"arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0 "
            f"because no identity-based policy allows the bedrock:InvokeModelWithResponseStream action")
    assert text(browser, "#sdk-error") == want
    # Byte for byte what boto3 prints for the same call with bob's own key.
    import boto3
    import botocore
    rt_bob = boto3.client("bedrock-runtime", endpoint_url=s.url, region_name="us-east-1",
                          aws_access_key_id="AKIACONSOLEBOB000001", aws_secret_access_key="bob-key-secret")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        rt_bob.converse_stream(modelId="amazon.nova-lite-v1:0", messages=[{"role": "user", "content": [{"text": "hi"}]}])
    assert str(ei.value) == want
    assert text(browser, "#refusal-gate") == "iam"
    assert text(browser, "#refusal-fix")
    shot(browser, "playground-refused")

    # The same refusal, in the Refusals page (newest first), with its detail.
    browser.get(s.url + "/console/refusals?region=us-east-1")
    first = q(browser, "#refusals tr.refusal")
    assert first.find_element(*by_css("td.gate")).text == "iam"
    assert f"user/bob" in first.text
    q(browser, "#refusals tr.detail summary").click()
    assert text(browser, "#refusals tr.detail dd.message") == want.split("operation: ", 1)[1]
    assert text(browser, "#refusals tr.detail dd.error-type") == "AccessDeniedException"
    shot(browser, "refusals")

    # Live: a new refusal (from boto3, outside the console) appears without a reload.
    import boto3
    import botocore
    rows_before = len(browser.find_elements(*by_css("#refusals tr.refusal")))
    sts = boto3.client("sts", endpoint_url=s.url, region_name="us-east-1",
                       aws_access_key_id="AKIACONSOLEALICE0001", aws_secret_access_key="wrong")
    with pytest.raises(botocore.exceptions.ClientError):
        sts.get_caller_identity()
    # That refusal is the unknown-signature one, unattributed to the account: make one that is.
    rt = boto3.client("bedrock-runtime", endpoint_url=s.url, region_name="us-east-1",
                      aws_access_key_id="AKIACONSOLEALICE0001", aws_secret_access_key="alice-key-secret")
    with pytest.raises(botocore.exceptions.ClientError):
        rt.converse(modelId="amazon.nova-pro-v1:0", messages=[{"role": "user", "content": [{"text": "x"}]}])
    wait_for(browser, lambda b: len(b.find_elements(*by_css("#refusals tr.refusal"))) > rows_before)
    assert "amazon.nova-pro-v1:0" in text(browser, "#refusals tr.refusal")

    # Filter by gate.
    browser.get(s.url + "/console/refusals?region=us-east-1&gate=iam")
    gates = {td.text for td in browser.find_elements(*by_css("#refusals td.gate"))}
    assert gates == {"iam"}
    sign_out(browser)


def test_forged_post_and_cookie_after_signout_are_refused(console_server, browser):
    s = console_server
    sign_in(browser, s, None, "root-console-pw")
    assert text(browser, "#principal") == f"arn:aws:iam::{ACCOUNT}:root"
    mine = cookie(browser)
    # No CSRF token: 403, nothing done.
    status, body = post(s, "/console/signout", {}, cookie_value=mine)
    assert (status, body) == (403, "The request's CSRF token is missing or wrong: reload the page and try again.")
    status, _ = post(s, "/console/models/request", {"region": "us-east-1", "model": MODEL, "eula": "accepted",
                                                    "csrf": "0" * 64}, cookie_value=mine)
    assert status == 403
    # Still signed in (the forged sign-out did nothing).
    browser.get(s.url + "/console/models?region=us-east-1")
    assert "/console/models" in browser.current_url
    csrf = q(browser, "body").get_attribute("data-csrf")
    sign_out(browser)
    # That cookie, with its right CSRF token, after sign-out: refused.
    status, body = post(s, "/console/switch-role", {"csrf": csrf, "role_arn": "x"}, cookie_value=mine)
    assert (status, body) == (403, "Your console session has ended or was never started. Sign in again.")
    req = urllib.request.Request(s.url + "/console/models", headers={"Cookie": f"bg_console={mine}"})
    with urllib.request.urlopen(req, timeout=10) as r:  # redirected to sign-in
        assert r.url.endswith("/console/signin")


def test_pages_make_no_request_to_another_host_and_send_csp(console_server, browser):
    s = console_server
    sign_in(browser, s, "alice", "alice-console-pw")
    browser.get_log("performance")  # drop what came before
    for page in ["/console/models?region=us-east-1", "/console/playground?region=us-east-1",
                 "/console/refusals?region=us-east-1", "/console/signin"]:
        browser.get(s.url + page)
    hosts = set()
    for entry in browser.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            url = msg["params"]["request"]["url"]
            if not url.startswith("data:"):
                hosts.add(urllib.parse.urlsplit(url).netloc)
    assert hosts == {urllib.parse.urlsplit(s.url).netloc}
    with urllib.request.urlopen(s.url + "/console/signin", timeout=10) as r:
        assert r.headers["Content-Security-Policy"] == (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; frame-ancestors 'none'")
        page = r.read().decode()
    assert "<script>" not in page and "style=" not in page and "<style" not in page


# ---- the five gates page, for every scenario -------------------------------------------------

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
CODES = {"credentials": 10, "region": 11, "iam": 12, "model-access": 13, "provider-terms": 14, "quota": 15}


def walk_of(path):
    """The doctor walk a scenario documents in its comments: (key, secret, region, model, exit),
    or the default account's root key and Nova Lite where it documents none."""
    import re
    text = path.read_text()
    creds = re.search(r"AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+)(?: AWS_SESSION_TOKEN=\S+)? AWS_REGION=(\S+)",
                      text)
    model = re.search(r"--model (\S+)\s+# exit (\d+)", text)
    key, secret, region = creds.groups() if creds else ("test", "test", "us-east-1")
    return key, secret, region, (model.group(1) if model else "amazon.nova-lite-v1:0"), (
        int(model.group(2)) if model else None)


def cli_doctor(server, key, secret, region, model):
    import subprocess
    from conftest import BIN
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret, AWS_REGION=region, NO_COLOR="1",
               AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent")
    p = subprocess.run([BIN, "doctor", "--endpoint-url", server.url, "--model", model, "--json"],
                       capture_output=True, text=True, timeout=120, env=env)
    return json.loads(p.stdout)


@pytest.mark.parametrize("scenario", sorted(p.name for p in SCENARIOS.glob("*.toml")))
def test_five_gates_page_names_the_shut_gates(scenario, browser, tmp_path):
    key, secret, region, model, exit_code = walk_of(SCENARIOS / scenario)
    s = Server(tmp_path / "state.db", SCENARIOS / scenario)
    try:
        browser.delete_all_cookies()
        browser.get(s.url + f"/console/signin?region={region}")
        q(browser, "#access_key_id").send_keys(key)
        q(browser, "#secret_access_key").send_keys(secret)
        q(browser, "#signin-key").click()
        wait_for(browser, lambda b: "/console/models" in b.current_url)
        browser.get(s.url + f"/console/gates?region={region}&model={urllib.parse.quote(model)}")
        rows = browser.find_elements(*by_css("#gates tbody tr"))
        page = {r.get_attribute("data-gate"): r.get_attribute("data-status") for r in rows}
        shut = [g for g, st in page.items() if st == "shut"]
        # The doctor run from the command line, with the same key, is the oracle.
        want = [g["gate"] for g in cli_doctor(s, key, secret, region, model)["gates"] if g["status"] == "shut"]
        assert shut == want, page
        if exit_code is not None:
            assert (CODES[shut[0]] if shut else 0) == exit_code, page
        assert text(browser, "#try-it").startswith("Try it")
        if scenario == "two-gates-iam-and-form.toml":
            assert shut == ["iam", "model-access"]
            shot(browser, "five-gates")
    finally:
        s.stop()


def test_iam_grid_and_least_privilege_policy_and_quotas(console_server, browser):
    import subprocess
    from conftest import BIN
    from selenium.webdriver.support.ui import Select
    s = console_server
    sign_in(browser, s, None, "root-console-pw")
    browser.get(s.url + "/console/iam?region=us-east-1")
    options = [o.get_attribute("value") for o in browser.find_elements(*by_css("#principal-pick option"))]
    assert f"arn:aws:iam::{ACCOUNT}:user/alice" in options and f"arn:aws:iam::{ACCOUNT}:user/bob" in options
    Select(q(browser, "#principal-pick")).select_by_value(f"arn:aws:iam::{ACCOUNT}:user/bob")
    q(browser, "#show-grid").click()
    cell = q(browser, 'tr[data-model="amazon.nova-lite-v1:0"] td[data-action="bedrock:InvokeModel"]')
    assert (cell.get_attribute("data-decision"), cell.text) == ("implicitDeny", "refused (implicitDeny)")
    assert cell.get_attribute("title") == "implicitDeny: no statement allows it"
    browser.get(s.url + "/console/iam?region=us-east-1&principal=" + urllib.parse.quote(f"arn:aws:iam::{ACCOUNT}:user/alice"))
    cell = q(browser, 'tr[data-model="amazon.nova-lite-v1:0"] td[data-action="bedrock:InvokeModelWithResponseStream"]')
    assert cell.get_attribute("data-decision") == "allowed"
    assert cell.get_attribute("title").startswith("allowed: ")
    # The least-privilege panel is `policy generate`'s output for the ticked models.
    q(browser, 'tr[data-model="amazon.nova-lite-v1:0"] input[name="tick"]').click()
    q(browser, "#generate").click()
    shot(browser, "iam")
    cli = subprocess.run([BIN, "policy", "generate", "--model", "amazon.nova-lite-v1:0", "--region", "us-east-1",
                          "--streaming", "--account", ACCOUNT], capture_output=True, text=True, timeout=30)
    assert cli.returncode == 0, cli.stderr
    assert text(browser, "#policy") == cli.stdout.strip()

    # Quotas: a call of alice's own, made here so this test does not depend on an earlier one,
    # counts against Nova Lite (granted by the scenario) today.
    from conftest import client_for, converse
    rt = client_for("bedrock-runtime", s, "AKIACONSOLEALICE0001", "alice-key-secret")
    converse(rt, "amazon.nova-lite-v1:0")
    browser.get(s.url + "/console/quotas?region=us-east-1")
    row = q(browser, '#quotas tr[data-model="amazon.nova-lite-v1:0"]')
    cells = [td.text for td in row.find_elements(*by_css("td"))]
    assert cells[0] == "amazon.nova-lite-v1:0" and int(cells[4]) > 0 and cells[6] == "0", cells
    shot(browser, "quotas")
    sign_out(browser)


def test_console_over_https_sets_a_secure_cookie(console_server):
    import ssl
    s = console_server
    if not s.https_url:
        pytest.skip("serve started without HTTPS")
    ctx = ssl.create_default_context(cafile=s.ca)
    with urllib.request.urlopen(s.https_url + "/console/signin", context=ctx, timeout=10) as r:
        assert r.status == 200
        assert r.headers["Set-Cookie"].endswith("; Path=/console; HttpOnly; SameSite=Strict; Max-Age=3600; Secure")
        assert r.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_switch_role(console_server, browser):
    s = console_server
    role = f"arn:aws:iam::{ACCOUNT}:role/ConsoleReader"

    def switch():
        q(browser, "details.switch summary").click()
        q(browser, 'input[name="role_arn"]').send_keys(role)
        q(browser, 'details.switch button[type="submit"]').click()

    # Root may not assume roles: AWS's refusal, as the SDK prints it.
    sign_in(browser, s, None, "root-console-pw")
    switch()
    assert text(browser, "main p.error") == (
        "An error occurred (AccessDenied) when calling the AssumeRole operation: "
        "Roles may not be assumed by root accounts.")
    sign_out(browser)
    # alice, whom the role trusts by name: the session now acts as the role.
    sign_in(browser, s, "alice", "alice-console-pw")
    switch()
    wait_for(browser, lambda b: "/console/models" in b.current_url)
    assert text(browser, "#principal") == f"arn:aws:sts::{ACCOUNT}:assumed-role/ConsoleReader/console"
    sign_out(browser)


def test_automatic_mode_says_what_the_first_call_does_and_whether_you_may(console_server, browser):
    s = console_server

    def first_call(model):
        return text(browser, f'tr[data-model="{model}"] td.first-call')

    def key_sign_in(key, secret):
        browser.get(s.url + "/console/signin")
        q(browser, "#access_key_id").send_keys(key)
        q(browser, "#secret_access_key").send_keys(secret)
        q(browser, "#signin-key").click()
        wait_for(browser, lambda b: "/console/models" in b.current_url)

    key_sign_in("AKIACONSOLEROOT27271", "root27-key-secret")
    assert "automatic" in text(browser, "#access-mode")
    assert first_call("cohere.command-r-v1:0") == (
        "starts the AWS Marketplace subscription and accepts the provider's EULA "
        "(you may: aws-marketplace:Subscribe is allowed); bedrock:InvokeModel is allowed for you")
    assert first_call("anthropic.claude-3-haiku-20240307-v1:0") == (
        "refused until the Anthropic use-case form is submitted; starts the AWS Marketplace "
        "subscription and accepts the provider's EULA (you may: aws-marketplace:Subscribe is allowed); "
        "bedrock:InvokeModel is allowed for you")
    assert first_call("amazon.nova-lite-v1:0") == (
        "needs no subscription or form; bedrock:InvokeModel is allowed for you")
    assert status_of(browser, "amazon.nova-lite-v1:0") == "Access granted"
    sign_out(browser)
    key_sign_in("AKIACONSOLECAROL0001", "carol-key-secret")
    assert first_call("cohere.command-r-v1:0") == (
        "starts the AWS Marketplace subscription and accepts the provider's EULA "
        "(you may not: aws-marketplace:Subscribe is not allowed for you); "
        "bedrock:InvokeModel is not allowed for you")
    shot(browser, "model-access-automatic")
    sign_out(browser)


def test_change_password_api(console_server):
    """IAM ChangePassword as the caller: the old password must match, the new one meets the
    policy, the caller needs iam:ChangePassword on itself and must be an IAM user."""
    from botocore.exceptions import ClientError
    from conftest import client_for, error_of
    s = console_server
    dana = client_for("iam", s, "AKIACONSOLEDANA00001", "dana-key-secret")
    with pytest.raises(ClientError) as ei:
        dana.change_password(OldPassword="not-danas-pw", NewPassword="dana-second-pw")
    assert error_of(ei) == ("InvalidUserType", 400, "The old password is incorrect.")
    with pytest.raises(ClientError) as ei:
        dana.change_password(OldPassword="dana-console-pw", NewPassword="short")
    assert error_of(ei) == ("PasswordPolicyViolation", 400, "Password should have a minimum length of 8")
    alice = client_for("iam", s, "AKIACONSOLEALICE0001", "alice-key-secret")
    with pytest.raises(ClientError) as ei:
        alice.change_password(OldPassword="alice-console-pw", NewPassword="alice-second-pw")
    assert error_of(ei) == ("AccessDenied", 403, ALICE_CANNOT_CHANGE)
    root = client_for("iam", s, "AKIACONSOLEROOT00001", "root-key-secret")
    with pytest.raises(ClientError) as ei:
        root.change_password(OldPassword="root-console-pw", NewPassword="root-second-pw")
    assert error_of(ei) == ("InvalidUserType", 400,
                            "Only an IAM user can change their own password with ChangePassword.")
    dana.change_password(OldPassword="dana-console-pw", NewPassword="dana-second-pw")
    assert root.get_login_profile(UserName="dana")["LoginProfile"]["PasswordResetRequired"] is False
    # The password is never in CloudTrail: requestParameters hide both.
    ct = client_for("cloudtrail", s, "AKIACONSOLEROOT00001", "root-key-secret")
    ev = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ChangePassword"}])
    records = [json.loads(e["CloudTrailEvent"]) for e in ev["Events"]]
    assert records and all("pw" not in json.dumps(r) for r in records), records
    assert records[0]["requestParameters"] == {"oldPassword": "HIDDEN_DUE_TO_SECURITY_REASONS",
                                               "newPassword": "HIDDEN_DUE_TO_SECURITY_REASONS"}


ALICE_CANNOT_CHANGE = (
    f"User: arn:aws:iam::{ACCOUNT}:user/alice is not authorized to perform: iam:ChangePassword on resource: "
    f"arn:aws:iam::{ACCOUNT}:user/alice because no identity-based policy allows the iam:ChangePassword action")


def test_password_reset_required_forces_a_change_at_sign_in(console_server, browser):
    s = console_server
    sign_in(browser, s, "erin", "erin-first-pw")
    wait_for(browser, lambda b: "/console/change-password" in b.current_url)
    assert text(browser, "#change-required") == (
        "Your administrator requires you to set a new password before you continue.")
    # Nothing else is reachable before the change.
    browser.get(s.url + "/console/models?region=us-east-1")
    wait_for(browser, lambda b: "/console/change-password" in b.current_url)

    def change(old, new, again):
        q(browser, "#old_password").send_keys(old)
        q(browser, "#new_password").send_keys(new)
        q(browser, "#confirm_password").send_keys(again)
        form = q(browser, "#change-form")
        q(browser, "#change-submit").click()
        # The answer is a new page: wait until this one is gone, or the error read next could
        # be the previous answer's.
        from selenium.webdriver.support import expected_conditions as EC
        wait_for(browser, EC.staleness_of(form))

    change("erin-first-pw", "erin-second-pw", "erin-secnod-pw")
    assert text(browser, "#change-error") == "The new passwords do not match."
    change("erin-wrong-pw", "erin-second-pw", "erin-second-pw")
    assert text(browser, "#change-error") == (
        "An error occurred (InvalidUserType) when calling the ChangePassword operation: "
        "The old password is incorrect.")
    shot(browser, "change-password")
    change("erin-first-pw", "erin-second-pw", "erin-second-pw")
    wait_for(browser, lambda b: "/console/models" in b.current_url)
    assert text(browser, "#principal") == f"arn:aws:iam::{ACCOUNT}:user/erin"
    sign_out(browser)
    # The old password no longer signs in; the new one goes straight to the console.
    sign_in(browser, s, "erin", "erin-first-pw")
    assert text(browser, "#signin-error") == "Your authentication information is incorrect. Please try again."
    sign_in(browser, s, "erin", "erin-second-pw")
    assert "/console/models" in browser.current_url
    sign_out(browser)
