// The case screens, registered in one place: 事件 (lists by what I do), 我要报事, 事件详情,
// 事件概况 (figures and 督办) and the public 晒单. They load on demand, like the points screens,
// and are precached for offline use.
import { lazy } from '../lazy.js';
import './cases.css';

export const PUBLIC_PATHS = /^\/board$/; // 晒单 needs no login

export function registerCaseRoutes(route, onLogout) {
  route('/cases', lazy(() => import('./list.js'), 'caseListView', onLogout));
  route('/cases/new', lazy(() => import('./report.js'), 'reportView', onLogout));
  route('/cases/:id', lazy(() => import('./detail.js'), 'caseDetailView', onLogout));
  route('/case-overview', lazy(() => import('./overview.js'), 'caseOverviewView', onLogout));
  route('/board', lazy(() => import('./board.js'), 'boardView', onLogout));
}
