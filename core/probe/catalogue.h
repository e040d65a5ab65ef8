#pragma once

#include "probe/probecase.h"

#include <QStringList>

namespace ws::probe {

// Every case for testing a server, in run order: Autobahn's 1.* to 10.* (same ids,
// same meaning), the opening handshake (H.*), timing (T.*), then permessage-deflate
// (Autobahn's 12.* and 13.* ids, and D.* of our own).
QList<ProbeCase> serverCatalogue();

// The data set of 12.N (index N - 1, 0..4): generated stand-ins of the kind and size
// of Autobahn's files (JSON, a bitmap, prose, HTML, a PDF); empty for another index.
QByteArray deflateDataSet(int index);

// Autobahn's case patterns: "*" matches any run of characters, everything else itself
// ("6.4.*", "9.*", "1.1.1").
bool matchesCasePattern(const QString &id, const QString &pattern);
// The cases whose id matches one of `include` (empty: all) and none of `exclude`,
// in catalogue order.
QList<ProbeCase> selectCases(const QList<ProbeCase> &cases, const QStringList &include,
                             const QStringList &exclude);

// Autobahn's order of case ids: numerically part by part ("6.10.1" after "6.9.2"),
// our letters after the numbers.
bool caseIdLess(const QString &a, const QString &b);

} // namespace ws::probe
