"""The message catalogue: every message an error can carry, in Simplified
Chinese (简体中文, as read in mainland China), keyed by the English text the
code raises.

A key with `{name}` parts is the template of a message made from parts (an
f-string in the code, or marshmallow's own "Length must be between {min}
and {max}."): the translation uses the same names. The parts are values of
the API (a status, a field name, a number) and are shown as they are.

Data, not code, but kept as a Python module rather than YAML: it is imported
like any module (no file to find at run time or to package), and the test
that checks it (tests/unit/test_messages.py) reads it directly: every
message the code can raise has an entry, every entry keeps its template's
names, and every entry is Simplified (OpenCC's t2s leaves it unchanged).
"""

ZH_CN = {
    # -- the HTTP edge: bodies, headers, routes (shared/http.py, werkzeug) --
    "a JSON body is required": "需要 JSON 请求体",
    "the body is not valid JSON": "请求体不是有效的 JSON",
    "the body must be a JSON object": "请求体必须是 JSON 对象",
    "the body is nested too deeply": "请求体嵌套层级过深",
    "the body is too large": "请求体过大",
    "{name} is not a number JSON allows": "{name} 不是 JSON 允许的数值",
    "field name {name} is not allowed": "不允许使用字段名 {name}",
    "field {name} appears twice": "字段 {name} 出现了两次",
    "text may not contain control characters": "文本不能包含控制字符",
    "control characters are not allowed": "不允许使用控制字符",
    "text must be valid Unicode": "文本必须是有效的 Unicode",
    "a lone surrogate is not a character": "孤立的代理码元不是字符",
    "the request does not validate": "请求未通过校验",
    "the database does not answer; nothing was changed, try again":
        "数据库无响应；未作任何更改，请重试",
    "a dependency does not answer": "有依赖的服务无响应",
    "the keys that verify tokens cannot be fetched from intake; try again":
        "无法从受理服务获取验证令牌的密钥，请重试",
    "internal error": "内部错误",
    "no such file": "文件不存在",
    "the docs page is not built: run make docs": "文档页面尚未构建：请运行 make docs",
    "The requested URL was not found on the server. If you entered the URL manually "
    "please check your spelling and try again.":
        "服务器上没有所请求的 URL。如果是手动输入的 URL，请检查拼写后重试。",
    "The method is not allowed for the requested URL.": "所请求的 URL 不允许使用该方法。",
    "Idempotency-Key must be 1 to {max} characters": "Idempotency-Key 的长度须为 1 到 {max} 个字符",
    "this Idempotency-Key was used with another request": "此 Idempotency-Key 已用于另一个请求",
    "it changed meanwhile; read it again": "其间已有其他更改，请重新读取",
    "{target} is not running; try again": "{target} 服务未运行，请重试",
    "{target} did not answer within {seconds}s; try again": "{target} 服务在 {seconds} 秒内未响应，请重试",

    # -- who may (shared/auth.py) --
    "a bearer token is required": "需要 Bearer 令牌",
    "the token is not valid": "令牌无效",
    "the {role} role may not do this": "{role} 角色无权执行此操作",

    # -- shared fields (shared/fields.py) --
    "text must be valid Unicode (no lone surrogates)": "文本必须是有效的 Unicode（不能含孤立的代理码元）",
    'money is a decimal string with at most 2 places, e.g. "21000.00"':
        '金额须为最多两位小数的十进制字符串，例如 "21000.00"',
    "a time between {earliest} and {latest} (UTC) is expected":
        "时间须在 {earliest} 至 {latest}（UTC）之间",

    # -- intake: organisation and reports --
    "no such parent unit": "上级单位不存在",
    "the unit tree would be too deep": "单位层级过深",
    "at most {depth} levels": "最多 {depth} 级",
    "the unit tree is too deep or has a cycle": "单位层级过深或存在循环",
    "no such unit": "单位不存在",
    "unknown unit": "未知单位",
    "a unit with this id exists": "已有此编号的单位",
    "an officer with this id exists": "已有此编号的民警",
    "a company with this credit code exists": "已有此统一社会信用代码的企业",
    "not a valid unified social credit code (GB 32100-2015)":
        "不是有效的统一社会信用代码（GB 32100-2015）",
    "no such company": "企业不存在",
    "unknown company": "未知企业",
    "a company files for itself": "企业只能为本企业报案",
    "not allowed for a company": "企业不能填写此项",
    "an officer registers a report for a company, by phone or walk-in":
        "民警代企业登记报案，须注明企业及渠道（电话或来访）",
    "required": "必填",
    "the incident lies too far back": "案发时间过早",
    "not more than {years} years ago": "不得早于 {years} 年前",
    "an incident cannot have occurred in the future": "案发时间不能晚于现在",
    "no such report": "报案不存在",
    "unknown report": "未知报案",
    "a report that is {status} cannot take '{action}'": "状态为 {status} 的报案不能执行“{action}”",
    "a report cannot be transferred to the unit that owns it": "报案不能移交给其所属单位",
    "a report merges only into another report of the same company": "报案只能并入同一企业的另一份报案",
    "the target report is itself merged; merge into the one it joined":
        "目标报案本身已被并入其他报案，请并入它所并入的那份报案",
    "another change to one of these reports is under way; read them again":
        "其中一份报案正在被修改，请重新读取",
    # -- evidence files (services/intake/files.py, uploads.py, evidence.py) --
    "this kind of file is not accepted: PDF, JPEG, PNG, HEIC, MP4, MOV, DOCX, XLSX or "
    "plain text": "不接受此类文件：仅限 PDF、JPEG、PNG、HEIC、MP4、MOV、DOCX、XLSX 或纯文本",
    "the range lies beyond the file": "请求的字节范围超出文件长度",
    "the declared type does not match the file's content": "声明的文件类型与文件内容不符",
    "the content is {type}": "文件内容为 {type}",
    "the file name's extension does not match the file's content": "文件扩展名与文件内容不符",
    "a multipart body needs its boundary": "multipart 请求体缺少分隔符（boundary）",
    "a multipart upload needs a part named file": "multipart 上传需要名为 file 的部分",
    "the upload ended before the file did": "文件尚未传完，上传已中断",
    "the file is empty": "文件为空",
    "a file may hold at most {limit} bytes": "单个文件最多 {limit} 字节",
    "at most {limit} bytes": "最多 {limit} 字节",
    "a report may hold at most {limit} bytes of files": "一份报案的文件合计最多 {limit} 字节",
    "at most {limit} bytes for one report": "一份报案最多 {limit} 字节",
    "an item may hold at most {limit} files": "每项材料最多 {limit} 个文件",
    "at most {limit} files for one item": "每项材料最多 {limit} 个文件",
    "no such checklist item": "材料清单上没有此项",
    "not on this report's checklist": "不在本报案的材料清单上",
    "this file was found infected and is not served": "此文件经查含有病毒，不予提供下载",
    "this file is superseded already": "此文件已被替换",
    "a company supersedes only the files it uploaded": "企业只能替换自己上传的文件",
    "nothing has been supplied for {code} yet": "{code} 尚未提交任何材料",
    "a report that is {status} takes no materials": "状态为 {status} 的报案不再接收材料",
    "not on this report's checklist: {codes}": "不在本报案的材料清单上：{codes}",
    "already on this report's checklist: {codes}": "已在本报案的材料清单上：{codes}",

    # -- intake: accounts and sign-in (services/intake/signin.py, accounts.py) --
    "an account with this username exists": "该用户名的账户已存在",
    "no such account": "账户不存在",
    "the invite is not valid: unknown, used or expired": "邀请码无效：不存在、已使用或已过期",
    "not valid: unknown, used or expired": "无效：不存在、已使用或已过期",
    "sign in to change your password": "请先登录再修改密码",
    "the current password is wrong": "当前密码不正确",
    "the password is not accepted": "该密码不可用",
    "at least 12 characters": "至少 12 个字符",
    "at most 256 characters": "最多 256 个字符",
    "too common or too easy to guess": "过于常见或容易被猜到",
    # OAuth 2.0 error_description texts (RFC 6749's shape, not a problem)
    "the body must be application/x-www-form-urlencoded":
        "请求体必须为 application/x-www-form-urlencoded",
    "the body is not a valid form": "请求体不是有效的表单",
    "a parameter appears twice": "有参数出现了两次",
    "a required parameter is missing": "缺少必需的参数",
    "a parameter is too long": "有参数过长",
    "this grant type is not supported": "不支持此授权类型",
    "the username or password is wrong": "用户名或密码不正确",
    "this account is deactivated": "该账户已停用",
    "the refresh token is not valid": "刷新令牌无效",
    # the second factor, throttling (services/intake/guard.py)
    "a second factor code is required": "需要输入第二重验证码",
    "the second factor code is wrong or was used already": "第二重验证码不正确或已被使用",
    "this account must enrol a second factor: ask the admin for a new invite":
        "该账户须先绑定第二重验证：请向管理员申请新的邀请码",
    "too many failed sign-ins; try again later": "登录失败次数过多，请稍后再试",
    "sign in to change your second factor": "请先登录再更改第二重验证",
    "enrol a second factor first": "请先绑定第二重验证",
    "the client authenticates one way only": "客户端只能使用一种方式认证",
    "the client is unknown, revoked, or its secret is wrong": "客户端不存在、已吊销或密钥错误",
    "the key's scope does not cover the scope asked for": "该密钥的权限范围不包含所请求的范围",
    # -- principals: a company's API keys, the admin's accounts --
    "no such API key": "API 密钥不存在",
    "only an owner of the company, signed in, manages its API keys":
        "只有已登录的企业所有者才能管理企业的 API 密钥",
    "a company has at most 20 live API keys; revoke one first":
        "每家企业最多有 20 个有效的 API 密钥，请先吊销一个",
    "an API key with the {scope} scope may not do this": "权限范围为 {scope} 的 API 密钥不能执行此操作",
    "an officer's role is officer or supervisor": "民警的角色只能是 officer 或 supervisor",
    "a company user has no unit": "企业用户没有所属单位",
    "a company user's role is owner or member": "企业用户的角色只能是 owner 或 member",
    "name, role or unit_id is required": "需要提供 name、role 或 unit_id",

    # -- case supervision --
    "no such case": "案件不存在",
    "no such officer": "民警不存在",
    "unknown officer": "未知民警",
    "you may not do this on this case": "您无权对此案件执行此操作",
    "a case that is {stage} cannot {action} to {to}": "处于 {stage} 阶段的案件不能以 {action} 转到 {to}",
    "a case that is {stage} takes no progress; reopen it first":
        "处于 {stage} 阶段的案件不能登记进展，请先重启案件",
    "no case closes without a result": "没有办理结果的案件不能结案",
    "a case is rated after its conclusion": "案件办结后才能评价",
    "this conclusion has been rated": "本次办结已评价",
    "this officer is on the team": "该民警已在办案组中",
    "this officer leads the case": "该民警已是本案主办民警",
    "the case is paused already, or concluded": "案件已暂停或已办结",
    "the case is not paused": "案件未暂停",
    "the case changed meanwhile; read it again": "其间案件已有其他更改，请重新读取",
    "a concluded case is not escalated; reopen it first": "已办结的案件不能升级督办，请先重启案件",
    "a concluded case has no deadlines; reopen it first": "已办结的案件没有期限，请先重启案件",
    "a deadline lies in the future": "期限必须晚于现在",
    "a deadline lies after now and within two years": "期限须晚于现在且在两年之内",
    "`from` comes before `to`": "`from` 须早于 `to`",
    "no such ledger item": "台账事项不存在",
    "this ledger item is closed off already": "该台账事项已销号",

    # -- notify: the company's channels and feed --
    "the webhook URL is refused": "Webhook URL 被拒绝",
    "the {label} is refused": "{label} 被拒绝",
    "one line only: no line breaks": "只能是一行：不能包含换行",
    # Problem titles (RFC 9457 `title`): the HTTP status phrases.
    "Bad Request": "请求有误",
    "Unauthorized": "未认证",
    "Forbidden": "无权访问",
    "Not Found": "未找到",
    "Method Not Allowed": "不允许的方法",
    "Conflict": "冲突",
    "Request Entity Too Large": "请求体过大",
    "Unprocessable Entity": "无法处理的内容",
    "Internal Server Error": "服务器内部错误",
    "Service Unavailable": "服务不可用",
    "Too Many Requests": "请求过于频繁",
    "not a valid URL": "不是有效的 URL",
    "must be an https URL": "必须是 https URL",
    "must not carry credentials": "不得包含登录凭据",
    "{address} is not a public address": "{address} 不是公网地址",
    "the host does not resolve": "无法解析该主机名",
    "no subscription yet: PUT /subscription first": "尚无订阅：请先调用 PUT /subscription",
    "only a dead letter can be replayed": "只有死信才能重新投递",
    "no such delivery": "投递记录不存在",
    "the cursor is not one this feed gave": "此游标不是本通知流给出的",
    "the cursor is not one this list gave": "此游标不是本列表给出的",
    "too many requests; try again later": "请求过于频繁，请稍后再试",
    "the company name prefix matches too many companies": "该企业名称前缀匹配的企业过多",
    "too many companies; type more of the name": "企业过多，请输入更长的名称",
    "searching is for police": "仅公安人员可以检索",
    "a request with this Idempotency-Key is still being handled": "使用此 Idempotency-Key 的请求仍在处理中",
    "id and event_id differ": "id 与 event_id 不一致",
    "time and occurred_at differ": "time 与 occurred_at 不一致",
    # -- notify: a company's webhook endpoints (services/notify/endpoints.py) --
    "no such webhook endpoint": "Webhook 接收端点不存在",
    "a company has at most {count} webhook endpoints": "每家企业最多可设 {count} 个 Webhook 接收端点",
    "the webhook endpoint changed meanwhile; read it again": "其间该 Webhook 接收端点已有其他更改，请重新读取",
    "the webhook endpoint is disabled; enable it first": "该 Webhook 接收端点已停用，请先启用",
    "the subscription's webhook is managed under /subscription":
        "订阅中的 Webhook 请通过 /subscription 管理",
    "each event type once": "每种事件类型只能出现一次",
    "name at least one field to change": "请至少指定一个要修改的字段",

    # -- marshmallow's own messages (fields, validators, schemas) --
    "Missing data for required field.": "缺少必填字段。",
    "Field may not be null.": "字段不能为 null。",
    "Invalid value.": "值无效。",
    "Invalid type.": "类型无效。",
    "Invalid input type.": "输入类型无效。",
    "Invalid input.": "输入无效。",
    "Unknown field.": "未知字段。",
    "Not a valid list.": "不是有效的列表。",
    "Not a valid tuple.": "不是有效的元组。",
    "Not a valid string.": "不是有效的字符串。",
    "Not a valid utf-8 string.": "不是有效的 UTF-8 字符串。",
    "Not a valid UUID.": "不是有效的 UUID。",
    "Not a valid number.": "不是有效的数字。",
    "Number too large.": "数值过大。",
    "Not a valid integer.": "不是有效的整数。",
    "Special numeric values (nan or infinity) are not permitted.":
        "不允许使用特殊数值（nan 或 infinity）。",
    "Not a valid boolean.": "不是有效的布尔值。",
    "Not a valid {obj_type}.": "不是有效的 {obj_type}。",
    "Not a valid {awareness} {obj_type}.": "不是有效的 {awareness} {obj_type}。",
    '"{input}" cannot be formatted as a {obj_type}.': '"{input}" 无法格式化为 {obj_type}。',
    "Not a valid datetime.": "不是有效的日期时间。",
    "Not a valid aware datetime.": "不是有效的带时区偏移的日期时间。",
    "Not a valid naive datetime.": "不是有效的不带时区偏移的日期时间。",
    "Not a valid date.": "不是有效的日期。",
    "Not a valid time.": "不是有效的时刻。",
    '"{input}" cannot be formatted as a date.': '"{input}" 无法格式化为日期。',
    "Not a valid period of time.": "不是有效的时间段。",
    "{input} cannot be formatted as a timedelta.": "{input} 无法格式化为时间段。",
    "Not a valid mapping type.": "不是有效的映射类型。",
    "Not a valid URL.": "不是有效的 URL。",
    "Not a valid email address.": "不是有效的电子邮件地址。",
    "Not a valid IP address.": "不是有效的 IP 地址。",
    "Not a valid IPv4 address.": "不是有效的 IPv4 地址。",
    "Not a valid IPv6 address.": "不是有效的 IPv6 地址。",
    "Not a valid IP interface.": "不是有效的 IP 接口。",
    "Not a valid IPv4 interface.": "不是有效的 IPv4 接口。",
    "Not a valid IPv6 interface.": "不是有效的 IPv6 接口。",
    "Must be one of: {choices}.": "必须是以下之一：{choices}。",
    "Must be equal to {other}.": "必须等于 {other}。",
    "String does not match expected pattern.": "字符串不符合要求的格式。",
    "Length must be between {min} and {max}.": "长度必须在 {min} 到 {max} 之间。",
    "Length must be {equal}.": "长度必须为 {equal}。",
    "Longer than maximum length {max}.": "超过最大长度 {max}。",
    "Shorter than minimum length {min}.": "短于最小长度 {min}。",
    "Must be greater than or equal to {min}.": "必须大于或等于 {min}。",
    "Must be greater than {min}.": "必须大于 {min}。",
    "Must be less than or equal to {max}.": "必须小于或等于 {max}。",
    "Must be less than {max}.": "必须小于 {max}。",
    "Must be greater than or equal to {min} and less than or equal to {max}.":
        "必须大于或等于 {min} 且小于或等于 {max}。",
    "Must be greater than or equal to {min} and less than {max}.":
        "必须大于或等于 {min} 且小于 {max}。",
    "Must be greater than {min} and less than or equal to {max}.":
        "必须大于 {min} 且小于或等于 {max}。",
    "Must be greater than {min} and less than {max}.": "必须大于 {min} 且小于 {max}。",
    "One or more of the choices you made was not in: {choices}.":
        "所选项中有一项或多项不在以下范围内：{choices}。",
    "One or more of the choices you made was in: {values}.":
        "所选项中有一项或多项属于以下不允许的值：{values}。",
    # -- rate limits' policy (shared/ratelimit.py) --
    "must not be above the window's count": "不得大于时间窗口内允许的次数",
    # -- alerts to police (services/notify/alert_*.py) --
    "must be a field name or a list of them": "必须是字段名或字段名列表",
    "name exactly one of {kinds}": "必须且只能指定以下之一：{kinds}",
    "{value} is not an event notify takes": "{value} 不是通知服务接收的事件",
    "the roster names officers of another unit": "值班表中有其他单位的民警",
    "not of this unit: {officers}": "不属于本单位：{officers}",
    "the robot URL is refused": "群机器人地址被拒绝",
    "this unit has no robot": "本单位尚未设置群机器人",
    "you may not do this for this unit": "您无权对本单位执行此操作",
    "no such alert": "告警不存在",
    "one override per date": "每个日期只能有一条调整",
    "format and kind differ": "format 与 kind 不一致",
}
