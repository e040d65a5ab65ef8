#include "protocol/httpconnect.h"

namespace ws {

QByteArray basicAuthorization(const BasicCredentials &credentials) {
    return "Basic " + (credentials.user + ':' + credentials.password).toBase64();
}

QByteArray connectRequest(const QString &host, quint16 port,
                          const std::optional<BasicCredentials> &credentials) {
    QByteArray authority = host.toUtf8();
    if (host.contains(u':'))
        authority = '[' + authority + ']';
    authority += ':' + QByteArray::number(port);
    // RFC 9112 §3.2.3: the authority form; RFC 9110 §7.2: Host carries it too.
    QByteArray request = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n";
    if (credentials)
        request += "Proxy-Authorization: " + basicAuthorization(*credentials) + "\r\n";
    return request + "\r\n";
}

ConnectResponseReader::Result ConnectResponseReader::feed(QByteArrayView data,
                                                          qsizetype *consumed) {
    *consumed = 0;
    if (m_result != Result::NeedMore)
        return m_result;
    switch (m_reader.feed(data, consumed)) {
    case HeaderBlockReader::Result::NeedMore:
        return m_result;
    case HeaderBlockReader::Result::Complete:
        break;
    case HeaderBlockReader::Result::Malformed:
        m_error = QStringLiteral("not an HTTP answer: %1").arg(m_reader.errorString());
        return m_result = Result::Malformed;
    case HeaderBlockReader::Result::TooLarge:
        m_error = QStringLiteral("an answer of more than %1 bytes").arg(MaxHeadBytes);
        return m_result = Result::Malformed;
    case HeaderBlockReader::Result::TooManyFields:
        m_error = QStringLiteral("an answer with more than %1 header fields").arg(MaxFields);
        return m_result = Result::Malformed;
    }
    const int status = m_reader.statusCode();
    // RFC 9110 §9.3.6: any 2xx answer to CONNECT switches to tunnel mode.
    return m_result = status >= 200 && status < 300 ? Result::Established : Result::Refused;
}

QList<QByteArray> ConnectResponseReader::authenticationChallenges() const {
    QList<QByteArray> challenges;
    for (const HttpHeaders::Field &field : m_reader.headers().fields()) {
        if (field.first.compare("Proxy-Authenticate", Qt::CaseInsensitive) == 0)
            challenges.append(field.second.trimmed());
    }
    return challenges;
}

} // namespace ws
